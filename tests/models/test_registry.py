"""The registry's table of official models against the real files this machine has."""

from __future__ import annotations

import pytest

from helpers import sha1_of
from whispercli.models.registry import MODELS, NAMES, OFFICIAL, VAD_NAMES


def test_the_official_table_is_well_formed():
    assert set(OFFICIAL) <= set(NAMES) and len(NAMES) == len(set(NAMES)) == 30 + len(VAD_NAMES)
    for name, (sha1, size_bytes) in OFFICIAL.items():
        assert len(sha1) == 40 and int(sha1, 16) >= 0, name
        assert 30 * 2 ** 20 < size_bytes < 3 * 2 ** 30, name
        assert (MODELS[name].sha1, MODELS[name].size_bytes) == (sha1, size_bytes)
    assert len({sha1 for sha1, _ in OFFICIAL.values()}) == len(OFFICIAL)
    assert all(MODELS[name].sha1 is None and MODELS[name].size_bytes is None
               for name in set(NAMES) - set(OFFICIAL) - set(VAD_NAMES))


@pytest.mark.parametrize("fixture", ["tiny_en_path", "base_path"])
def test_the_table_matches_the_real_files(request, fixture):
    path = request.getfixturevalue(fixture)
    name = path.name.removeprefix("ggml-").removesuffix(".bin")
    assert (sha1_of(path), path.stat().st_size) == OFFICIAL[name]
