"""whispercli.job.run_job: the per-input unit every client runs (real model, real audio)."""

from __future__ import annotations

import json
import os

import pytest

from helpers import JFK_WORDS, words
from whispercli.errors import AudioError, OutputError, TranscriptionAborted
from whispercli.job import JobHooks, output_paths, outputs_exist, run_job
from whispercli.options import TranscribeOptions


def test_writes_each_format_atomically_and_renders_the_same_bytes(tiny_en, jfk_wav, tmp_path):
    options = TranscribeOptions(formats=("txt", "srt", "json"), threads=2)
    base = str(tmp_path / "out" / "jfk")
    os.mkdir(tmp_path / "out")
    result = run_job(tiny_en, str(jfk_wav), options, output_base=base, model_label="tiny.en")
    assert result.written == tuple(output_paths(base, options.formats)) == (base + ".txt", base + ".srt",
                                                                             base + ".json")
    for fmt, path in zip(options.formats, result.written):
        with open(path, "rb") as fp:
            assert fp.read() == result.render(fmt)
    assert sorted(os.listdir(tmp_path / "out")) == ["jfk.json", "jfk.srt", "jfk.txt"]  # no temp files
    assert outputs_exist(base, options.formats)
    assert words(result.transcript.text)[:6] == JFK_WORDS[:6]
    assert json.loads(result.render("json"))["params"]["model"] == "tiny.en"
    assert result.audio_s == pytest.approx(11.0, abs=0.01)


def test_hooks_hear_the_audio_length_segments_and_progress(tiny_en, jfk_wav):
    heard = {"audio": [], "samples": [], "segments": [], "progress": []}
    hooks = JobHooks(on_audio=heard["audio"].append, on_samples=heard["samples"].append,
                     on_segment=lambda seg, speaker: heard["segments"].append((seg.index, speaker)),
                     on_progress=heard["progress"].append)
    result = run_job(tiny_en, jfk_wav.read_bytes(), TranscribeOptions(threads=2), hooks=hooks)
    assert heard["audio"] == [pytest.approx(11.0, abs=0.01)]
    (samples,) = heard["samples"]
    assert samples.dtype == "float32" and len(samples) == round(result.audio_s * 16000)
    assert heard["segments"] == [(s.index, None) for s in result.transcript.segments]
    assert heard["progress"] and heard["progress"][-1] == 100
    assert result.written == ()


def test_abort_raises_with_the_partial_transcript(tiny_en, jfk_wav):
    with pytest.raises(TranscriptionAborted) as info:
        run_job(tiny_en, str(jfk_wav), TranscribeOptions(threads=2), hooks=JobHooks(abort=lambda: True))
    assert info.value.partial is not None and info.value.partial.aborted


def test_unwritable_directory_fails_before_decoding(tiny_en, tmp_path):
    missing = tmp_path / "not-there" / "x"
    # the input does not exist either: the output check comes first, so no audio work is wasted
    with pytest.raises(OutputError, match="does not exist"):
        run_job(tiny_en, str(tmp_path / "nothing.wav"), TranscribeOptions(formats=("txt",)),
                output_base=str(missing))


def test_bad_audio_is_an_audio_error_and_writes_nothing(tiny_en, tmp_path):
    bad = tmp_path / "text.wav"
    bad.write_text("not audio at all\n" * 50)
    with pytest.raises(AudioError):
        run_job(tiny_en, str(bad), TranscribeOptions(formats=("txt",)), output_base=str(tmp_path / "bad"))
    assert sorted(os.listdir(tmp_path)) == ["text.wav"]
