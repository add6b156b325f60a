"""`whispercli quantize`: whisper-quantize's bytes, a model that works, clear refusals."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import JFK_WORDS, sha1_of, words
from whispercli.cli.exit_codes import ExitStatus


def run(*args):
    return subprocess.run([sys.executable, "-m", "whispercli", *map(str, args)], capture_output=True, text=True)


@pytest.fixture(scope="module")
def q8_0(tiny_en_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("q") / "ggml-tiny.en-q8_0.bin"
    proc = run("quantize", tiny_en_path, out, "q8_0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{out}\tq8_0\t")
    assert proc.stderr == ""
    return out


def test_same_bytes_as_whisper_quantize(q8_0, tiny_en_path, whisper_bin_dir, tmp_path):
    ref = tmp_path / "ref.bin"
    subprocess.run([str(whisper_bin_dir / "whisper-quantize"), str(tiny_en_path), str(ref), "q8_0"], capture_output=True,
                   check=True)
    assert sha1_of(q8_0) == sha1_of(ref)


def test_quantized_model_transcribes(q8_0, jfk_wav):
    from whispercli import Model

    with Model.load(q8_0) as model:
        assert model.info["ftype"] % 1000 == 7
        assert words(model.transcribe(str(jfk_wav)).text) == JFK_WORDS


@pytest.mark.parametrize("qtype", ["q9", "f16", "99", ""])
def test_invalid_type(tiny_en_path, tmp_path, qtype):
    proc = run("quantize", tiny_en_path, tmp_path / "out.bin", qtype)
    assert proc.returncode == ExitStatus.USAGE
    assert "unknown quantization type" in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_already_quantized_input(q8_0, tmp_path):
    proc = run("quantize", q8_0, tmp_path / "out.bin", "q5_0")
    assert proc.returncode == ExitStatus.MODEL
    assert "already quantized (q8_0)" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_not_a_model(tmp_path):
    bogus = tmp_path / "bogus.bin"
    bogus.write_text("hello")
    proc = run("quantize", bogus, tmp_path / "out.bin", "q8_0")
    assert proc.returncode == ExitStatus.MODEL
    assert "not a ggml Whisper model" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bogus.bin"]
