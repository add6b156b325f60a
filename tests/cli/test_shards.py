"""``--shard I/N``: N independent runs cover every input exactly once (GNU parallel, Slurm arrays)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from helpers import one_line
from whispercli.cli.exit_codes import ExitStatus
from whispercli.errors import UsageError
from whispercli.shards import Shard



@pytest.mark.parametrize("n_items", [0, 1, 5, 12])
@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_sorted_list(n_items, count):
    items = [f"f{i:02d}.wav" for i in range(n_items)][::-1]  # given unsorted
    parts = [Shard(i, count).select(items) for i in range(1, count + 1)]
    flat = [item for part in parts for item in part]
    assert sorted(flat) == sorted(items)  # every item, once
    assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced
    assert all(part == sorted(part) for part in parts)


@pytest.mark.parametrize("spec, message", [
    ("0/2", "counts from 1 to 2"), ("3/2", "counts from 1 to 2"), ("1/0", "at least 1"),
    ("half", "expected I/N"), ("1/2/3", "expected I/N"), ("-1/2", "expected I/N"),
])
def test_bad_shard_specs(spec, message):
    with pytest.raises(UsageError, match=message):
        Shard.parse(spec)


@pytest.mark.parametrize("args, message", [
    (["--shard", "0/2"], "counts from 1"),
    (["--shard", "1/2", "-"], "stdin"),
    (["--shard", "1/2", "-of", "x"], "--output-file"),
])
def test_shard_usage_errors(cli, jfk_wav, args, message):
    proc = cli("transcribe", "-m", "tiny.en", *args, jfk_wav)
    assert proc.returncode == ExitStatus.USAGE
    assert message in one_line(proc.stderr)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("parallel") is None, reason="GNU parallel is not installed (./dev installs it)")
def test_gnu_parallel_over_two_shards_equals_one_run(models_dir, tiny_en_path, speak, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for n, text in enumerate(["Good morning.", "The meeting starts at nine.", "Please close the door.",
                              "It is raining again.", "Thank you for listening."]):
        shutil.copy(speak(text), inputs / f"clip{n}.wav")
    env = dict(os.environ, WHISPERCLI_MODELS_DIR=str(models_dir))
    common = [sys.executable, "-m", "whispercli", "transcribe", "-m", "tiny.en", "-t", "1", "-np",
              "-otxt", "-osrt", "-oj"]

    one = tmp_path / "one"
    proc = subprocess.run([*common, "-od", str(one), str(inputs)], env=env, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr

    sharded = tmp_path / "sharded"
    proc = subprocess.run(["parallel", "--will-cite", "--halt", "now,fail=1", "-j", "2",
                           *common, "--shard", "{}/2", "-od", str(sharded), str(inputs), ":::", "1", "2"],
                          env=env, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    expected = sorted(p.name for p in one.iterdir())
    assert len(expected) == 15
    assert sorted(p.name for p in sharded.iterdir()) == expected
    for name in expected:
        assert (sharded / name).read_bytes() == (one / name).read_bytes(), name
