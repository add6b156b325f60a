"""``whispercli vad`` and ``transcribe --vad`` through the real CLI, the real VAD model and espeak-ng speech."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from helpers import words
from whispercli.cli.exit_codes import ExitStatus


@pytest.fixture(scope="module")
def vad_cli(models_dir, tiny_en_path, silero_path):
    env = dict(os.environ, WHISPERCLI_MODELS_DIR=str(models_dir))
    env.pop("WHISPERCLI_MODEL_BASE_URL", None)

    def run(*args, timeout=300, **changes) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "whispercli", *map(str, args)], capture_output=True, text=True,
                              env={**env, **changes}, timeout=timeout)

    return run


def one_error_line(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("whispercli: error: "), proc.stderr
    return lines[0]


def test_vad_formats_agree(vad_cli, speech_with_pauses, jfk_wav):
    wav, spans = speech_with_pauses
    text = vad_cli("vad", wav)
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("\nDetected 2 speech segments:\nSpeech segment 0: start = ")
    as_json = vad_cli("vad", "-F", "json", wav, jfk_wav)
    assert as_json.returncode == 0, as_json.stderr
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(wav), str(jfk_wav)]
    assert len(records[0]["segments"]) == 2 and len(records[1]["segments"]) == 4
    first = records[0]["segments"][0]
    assert spans[0][0] - 30 <= first["start_ms"] < first["end_ms"] <= spans[0][1] + 30
    assert f"start = {first['start_ms'] / 10:.2f}, end = {first['end_ms'] / 10:.2f}" in text.stdout
    as_csv = vad_cli("vad", "--format", "csv", wav, jfk_wav)
    rows = [line.split(",") for line in as_csv.stdout.splitlines()]
    assert rows[0] == ["file", "start_ms", "end_ms"] and len(rows) == 1 + 2 + 4
    assert rows[1] == [str(wav), str(first["start_ms"]), str(first["end_ms"])]


@pytest.mark.slow
def test_vad_text_is_whisper_vad_speech_segments_output(vad_cli, whisper_bin_dir, silero_path, speech_with_pauses,
                                                        jfk_wav):
    exe = whisper_bin_dir / "whisper-vad-speech-segments"
    for wav in (speech_with_pauses[0], jfk_wav):
        ref = subprocess.run([str(exe), "-vm", str(silero_path), "-f", str(wav), "-np"], capture_output=True,
                             text=True, timeout=120)
        assert ref.returncode == 0, ref.stderr
        ours = vad_cli("vad", "-vm", silero_path, wav)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout == ref.stdout


def test_bad_vad_model_is_one_line(vad_cli, jfk_wav, tmp_path, tiny_en_path):
    truncated = tmp_path / "vad.bin"
    truncated.write_bytes(b"lmgg" + b"\0" * 50)
    for command in (["vad"], ["transcribe", "-m", "tiny.en", "--vad"]):
        for model, message in ((truncated, "not a Silero VAD ggml model"), (tiny_en_path, "not a Silero VAD ggml model"),
                               ("/nonexistent.bin", "VAD model not found")):
            proc = vad_cli(*command, "-vm", model, jfk_wav)
            assert proc.returncode == ExitStatus.MODEL, proc.stderr
            assert message in one_error_line(proc)
            assert proc.stdout == ""


def test_vad_inputs_that_fail(vad_cli, jfk_wav, tmp_path):
    proc = vad_cli("vad", tmp_path / "missing.wav")
    assert proc.returncode == ExitStatus.AUDIO
    one_error_line(proc)
    proc = vad_cli("vad", "-F", "csv", jfk_wav, tmp_path / "missing.wav")
    assert proc.returncode == ExitStatus.PARTIAL
    assert len(proc.stdout.splitlines()) == 1 + 4
    proc = vad_cli("vad", "-F", "yaml", jfk_wav)
    assert proc.returncode == ExitStatus.USAGE and "unknown --format 'yaml'" in one_error_line(proc)


def test_transcribe_vad_without_a_model_uses_the_cached_default(vad_cli, speech_with_pauses, tmp_path):
    wav, spans = speech_with_pauses
    base = tmp_path / "out"
    proc = vad_cli("transcribe", "-m", "tiny.en", "--vad", wav, "-osrt", "-otxt", "-of", base, "-np")
    assert proc.returncode == 0, proc.stderr
    said = words(base.with_suffix(".txt").read_text())
    assert "over the lazy dog" in said and "silence between sentences" in said
    srt = base.with_suffix(".srt").read_text()
    # times are mapped back to the original audio: the first words come after the 8 s of silence
    first = srt.splitlines()[1]
    assert first.startswith("00:00:0") and first >= "00:00:07,5", srt
    assert proc.stderr == ""  # the model was cached: nothing downloaded, nothing said


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_transcribe_vad_fetches_the_default_once(vad_cli, tiny_en_path, jfk_wav, tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copyfile(tiny_en_path, cache / "ggml-tiny.en.bin")
    closed = "http://127.0.0.1:9"  # discard port: nobody listens, so auto falls back to PyPI
    proc = vad_cli("transcribe", "-m", "tiny.en", "--vad", jfk_wav, timeout=580,
               WHISPERCLI_MODELS_DIR=str(cache), WHISPERCLI_MODEL_BASE_URL=closed)
    assert proc.returncode == 0, proc.stderr
    assert "VAD model silero-v6.2.0: building silero-v6.2.0 from PyPI" in proc.stderr
    assert (cache / "ggml-silero-v6.2.0.bin").is_file()
    assert "ask not what your country can do for you" in words(proc.stdout)
    again = vad_cli("transcribe", "-m", "tiny.en", "--vad", jfk_wav, WHISPERCLI_MODELS_DIR=str(cache),
                WHISPERCLI_MODEL_BASE_URL=closed)
    assert again.returncode == 0 and again.stderr == "" and again.stdout == proc.stdout
