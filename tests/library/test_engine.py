"""The engine's two numerics (patches 0007, 0016) and its OpenMP waiting policy."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from whispercli.options import TranscribeOptions, to_full_params


def _probabilities(model, samples, exact: bool) -> tuple[list[float], str]:
    params = to_full_params(TranscribeOptions(exact=exact, threads=2))  # whisper-cli's defaults
    transcript = model.transcribe(samples, params)
    return [tok.p for seg in transcript.segments for tok in seg.tokens], transcript.text


def words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def test_default_runs_the_tiled_kernel_and_exact_does_not(tiny_en, jfk_samples):
    from whispercli import _native

    assert _native.set_exact(tiny_en._ctx, None, False), "this build lacks patch 0007's tiled sgemm"
    fast_p, fast_text = _probabilities(tiny_en, jfk_samples, exact=False)
    exact_p, exact_text = _probabilities(tiny_en, jfk_samples, exact=True)
    again_p, _ = _probabilities(tiny_en, jfk_samples, exact=True)
    assert exact_p == again_p  # --exact is deterministic (and the parity suite checks its bytes)
    assert fast_p != exact_p  # other summation order: the switch really changes the kernel
    assert words(fast_text) == words(exact_text)  # ... and not the words of jfk.wav
    assert fast_p == _probabilities(tiny_en, jfk_samples, exact=False)[0]  # the default is deterministic too


def _has_avx512_bf16() -> bool:
    try:
        return any(line.startswith("flags") and " avx512_bf16" in line
                   for line in Path("/proc/cpuinfo").read_text().splitlines())
    except OSError:
        return False


@pytest.mark.skipif(not _has_avx512_bf16(), reason="the bf16 weights (patch 0016) need AVX512-BF16")
def test_bf16_weights_are_made_by_the_first_default_encode_only(tiny_en_path, jfk_samples):
    from whispercli import Model, _native

    with Model.load(tiny_en_path) as model:  # a context of its own: no other test encoded with it
        _probabilities(model, jfk_samples, exact=True)
        assert _native.bf16_weight_count(model._ctx) == 0  # --exact reads the f16 weights
        _, text = _probabilities(model, jfk_samples, exact=False)
        # tiny.en: 4 encoder layers x 6 products, 4 decoder layers x cross-attention K and V
        assert _native.bf16_weight_count(model._ctx) == 4*6 + 4*2
        exact_p, exact_text = _probabilities(model, jfk_samples, exact=True)
        assert words(text) == words(exact_text)
    with Model.load(tiny_en_path) as fresh:  # and --exact's bits do not depend on them existing
        assert _probabilities(fresh, jfk_samples, exact=True)[0] == exact_p


def _spin_seen(env: dict[str, str]) -> tuple[str, str, str]:
    """(GOMP_SPINCOUNT in os.environ after the import, _native's value, libgomp's own value)."""
    # libgomp reads the variable once, when it is loaded: nothing imported before the native
    # module (numpy, soundfile, the package) may load it first
    code = ("import os, numpy, soundfile, whispercli; "
            "assert 'libgomp' not in open('/proc/self/maps').read(); "
            "from whispercli import _native; "
            "assert 'libgomp' in open('/proc/self/maps').read(); "
            "print(os.environ.get('GOMP_SPINCOUNT', '-'), _native.GOMP_SPINCOUNT)")
    # OMP_DISPLAY_ENV makes libgomp print the settings it read, on stderr, when it is loaded
    proc = subprocess.run([sys.executable, "-c", code], env={**env, "OMP_DISPLAY_ENV": "VERBOSE"},
                          capture_output=True, text=True, check=True)
    libgomp = re.search(r"GOMP_SPINCOUNT = '(\d+)'", proc.stderr)
    assert libgomp, proc.stderr
    left_behind, ours = proc.stdout.split()
    return left_behind, ours, libgomp.group(1)


def test_bounded_spin_is_set_for_libgomp_only_and_a_users_choice_wins():
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    left_behind, ours, libgomp = _spin_seen(env)
    assert left_behind == "-"  # not inherited by child processes (whisper-cli in tests, ffmpeg)
    assert int(ours) <= 10_000
    assert libgomp == ours  # and libgomp did read it
    assert _spin_seen({**env, "GOMP_SPINCOUNT": "77"})[0::2] == ("77", "77")
    assert _spin_seen({**env, "OMP_WAIT_POLICY": "active"})[0] == "-"
