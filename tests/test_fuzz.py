"""A bounded, seeded fuzz run: mutated models and audio never crash, hang or raise a traceback.

The long campaign is ``python -m benchmarks.fuzz_models`` (results in docs/fuzzing.md);
this is the same machinery on a few hundred inputs, with a fixed seed.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys

import pytest

from helpers import JFK_WAV, ROOT
from whispercli.cli.exit_codes import ExitStatus

sys.path.insert(0, str(ROOT))
from benchmarks.fuzz_models import campaign  # noqa: E402
from benchmarks.fuzz_mutations import make_audio_seeds, mutate_audio  # noqa: E402


@pytest.mark.slow
def test_seeded_campaign(tiny_en_path, models_dir, tmp_path):
    models = [tiny_en_path] + [p for p in [models_dir / "ggml-silero-v6.2.0.bin"] if p.is_file()]
    args = argparse.Namespace(models=240, audio=120, seed=20261205, minutes=10.0, timeout=60.0, model=models,
                              audio_source=str(JFK_WAV), keep=str(tmp_path / "found"))
    summary = campaign(args)
    for kind in ("models", "audio"):
        tally = summary[kind]
        assert (tally["crashes"], tally["hangs"], tally["tracebacks"]) == (0, 0, 0), tally["examples"][:5]
        assert tally["runs"] == getattr(args, kind)
        assert tally["rejected"] > 0 and tally["ok"] > 0, tally  # the mutations bite, and some inputs survive
    # A rejected file costs no memory beyond what the unmodified models need to load.
    assert summary["models"]["peak_rss_kb"] <= summary["baseline"]["peak_rss_kb"] * 1.25 + 100_000


@pytest.mark.slow
def test_mutated_audio_on_stdin(tiny_en_path, tmp_path):
    seeds = make_audio_seeds(JFK_WAV, tmp_path / "seeds", seconds=2.0)
    rng = random.Random(7)
    env = dict(os.environ, WHISPERCLI_MODELS_DIR=str(tiny_en_path.parent))
    for i in range(8):
        suffix = sorted(seeds)[i % len(seeds)]
        desc, blob = mutate_audio(seeds[suffix], rng)
        proc = subprocess.run([sys.executable, "-m", "whispercli", "transcribe", "-m", str(tiny_en_path), "-np",
                               "-t", "1", "-bs", "1", "-otxt", "-"],
                              input=blob, capture_output=True, timeout=300, env=env)
        lines = proc.stderr.decode().strip().splitlines()
        assert proc.returncode in (ExitStatus.OK, ExitStatus.AUDIO), (suffix, desc, proc.returncode, lines)
        if proc.returncode:
            assert len(lines) == 1 and lines[0].startswith("whispercli: error: "), (suffix, desc, lines)


def test_garbage_sample_width_cannot_decode(tiny_en_path, tmp_path):
    """A WAV whose fmt chunk says 5384 bits per sample (was pydub's KeyError 673, exit 1): exit 4."""
    from whispercli import AudioError
    from whispercli.audio import load_audio

    data = bytearray(JFK_WAV.read_bytes())
    data[34:36] = (5384).to_bytes(2, "little")
    bad = tmp_path / "garbage-width.wav"
    bad.write_bytes(data)
    proc = subprocess.run([sys.executable, "-m", "whispercli", "transcribe", "-m", str(tiny_en_path), "-np", str(bad)],
                          capture_output=True, timeout=120)
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == ExitStatus.AUDIO, lines
    assert lines == [f"whispercli: error: cannot decode audio: {str(bad)!r} is not a recognised audio or video file"]
    with pytest.raises(AudioError, match="cannot decode audio"):
        load_audio(bytes(data))  # the stdin path


def test_implausible_sample_rate_is_refused(tmp_path):
    data = bytearray(JFK_WAV.read_bytes())
    data[24:28] = (1).to_bytes(4, "little")  # 1 Hz: resampling would need 16000x the samples
    data[28:32] = (2).to_bytes(4, "little")
    bad = tmp_path / "one-hertz.wav"
    bad.write_bytes(data)
    from whispercli import AudioError
    from whispercli.audio import load_audio

    with pytest.raises(AudioError, match="claims a sample rate of 1 Hz"):
        load_audio(bad)
