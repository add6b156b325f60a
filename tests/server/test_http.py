"""whisper-server's API and the formats, with curl as the whisper.cpp docs use it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import JFK_WORDS, words
from serverkit import THREADS, curl, error_of


def test_health(server):
    status, body, content_type = curl(f"{server.url}/health")
    assert (status, json.loads(body), content_type) == (200, {"status": "ok"}, "application/json")


def test_the_curl_command_from_the_whisper_cpp_docs(server, jfk_wav, cli_outputs):
    # examples/server/README.md, verbatim but for the port, the file path and the prompt
    prompt = "President Kennedy, inaugural address."
    status, body, content_type = curl(
        f"{server.url}/inference", "-H", "Content-Type: multipart/form-data", "-F", f"file=@{jfk_wav}",
        "-F", "temperature=0.0", "-F", "temperature_inc=0.2", "-F", f"prompt={prompt}",
        "-F", "carry_initial_prompt=true", "-F", "response_format=json")
    assert (status, content_type) == (200, "application/json")
    # whisper-server's json: every segment's text and a newline, as its text format; its segmentation is -ml 60
    expected = cli_outputs("-ml", "60", "--prompt", prompt, "--carry-initial-prompt")["txt"].decode()
    assert json.loads(body) == {"text": expected}
    assert words(json.loads(body)["text"]) == JFK_WORDS


@pytest.mark.parametrize("fmt, ext, content_type", [
    ("text", "txt", "text/plain; charset=utf-8"),
    ("srt", "srt", "application/x-subrip; charset=utf-8"),
    ("vtt", "vtt", "text/vtt; charset=utf-8"),
])
def test_inference_formats_are_the_cli_bytes_with_whisper_servers_segmentation(server, jfk_wav, cli_outputs,
                                                                                fmt, ext, content_type):
    status, body, got_type = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}", "-F", f"response_format={fmt}")
    assert (status, got_type) == (200, content_type)
    assert body == cli_outputs("-ml", "60")[ext]


def test_inference_options_are_the_cli_options(server, jfk_wav, cli_outputs):
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}", "-F", "response_format=srt",
                           "-F", "max_len=20", "-F", "split_on_word=true", "-F", "offset_n=3")
    assert status == 200
    assert body == cli_outputs("-ml", "20", "-sow", "-on", "3")["srt"]


def test_inference_verbose_json_has_whisper_servers_shape(server, jfk_wav):
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}", "-F", "response_format=verbose_json")
    assert status == 200
    payload = json.loads(body)
    assert payload["task"] == "transcribe" and payload["language"] == "english"
    assert payload["duration"] == pytest.approx(11.0)
    assert words(payload["text"]) == JFK_WORDS
    seg = payload["segments"][0]
    assert {"id", "text", "start", "end", "tokens", "words", "temperature", "avg_logprob",
            "no_speech_prob"} <= set(seg)
    assert all({"word", "start", "end", "t_dtw", "probability"} <= set(w) for w in seg["words"])
    assert "".join(w["word"] for w in seg["words"]) == seg["text"]
    # server.cpp's numbers: 10 ms ticks times 0.01, C floats
    times = [t for s in payload["segments"] for t in (s["start"], s["end"])]
    times += [t for s in payload["segments"] for w in s["words"] for t in (w["start"], w["end"])]
    assert times == [round(t * 100) * 0.01 for t in times]
    assert all(s["avg_logprob"] == float(np.float32(s["avg_logprob"])) for s in payload["segments"])
    # an English-only model has no languages to rank: whisper-server's detection keys are left out
    assert not {"detected_language", "detected_language_probability", "language_probabilities"} & set(payload)


@pytest.mark.slow
def test_inference_verbose_json_has_whisper_servers_language_probabilities(start_server, base_path, base,
                                                                           jfk_wav, jfk_samples):
    server = start_server(model=str(base_path))
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}", "-F", "response_format=verbose_json")
    assert status == 200
    payload = json.loads(body)
    # server.cpp: whisper_lang_auto_detect at offset 0 on the request's audio, languages above 0.001 listed
    guesses = base.detect_language(jfk_samples, offset_ms=0, n_threads=int(THREADS))
    assert payload["detected_language"] == guesses[0].name == "english"
    assert payload["detected_language_probability"] == pytest.approx(guesses[0].probability, rel=1e-5)
    listed = {g.code: g.probability for g in guesses if g.probability > 0.001}
    assert payload["language_probabilities"] == pytest.approx(listed, rel=1e-5)
    assert 0.5 < payload["language_probabilities"]["en"] <= 1.0
    assert words(payload["text"]) == JFK_WORDS
    # the field turns the extra pass off, and OpenAI's verbose_json never has it
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}", "-F", "response_format=verbose_json",
                           "-F", "no_language_probabilities=true")
    assert status == 200 and "language_probabilities" not in json.loads(body)
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{jfk_wav}",
                           "-F", "response_format=verbose_json")
    assert status == 200 and "language_probabilities" not in json.loads(body)
    status, body, _ = curl(f"{server.url}/inference", "-F", f"file=@{jfk_wav}", "-F", "response_format=verbose_json",
                           "-F", "no_language_probabilities=maybe")
    assert status == 400 and "no_language_probabilities" in json.loads(body)["error"]


@pytest.mark.parametrize("fmt, ext", [("text", "txt"), ("srt", "srt"), ("vtt", "vtt")])
def test_openai_formats_are_the_cli_bytes(server, jfk_wav, cli_outputs, fmt, ext):
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{jfk_wav}",
                           "-F", "model=whisper-1", "-F", f"response_format={fmt}")
    assert status == 200
    assert body == cli_outputs()[ext]


# ---------------------------------------------------------------- client errors: 4xx, never a 500


@pytest.mark.parametrize("fields, param", [
    (["-F", "temperature=warm"], "temperature"),
    (["-F", "beam_size=2.5"], "beam_size"),
    (["-F", "translate=perhaps"], "translate"),
    (["-F", "response_format=mp3"], "response_format"),
    (["-F", "temperature=nan"], "temperature"),
    (["-F", "timestamp_granularities[]=sentence", "-F", "response_format=verbose_json"], "timestamp_granularities[]"),
])
def test_a_bad_field_is_a_400_naming_it(server, jfk_wav, fields, param):
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{jfk_wav}", "-F", "model=m", *fields)
    assert status == 400
    error = error_of(body)
    assert error["param"] == param and error["type"] == "invalid_request_error"


def test_an_unknown_language_is_a_400(server, jfk_wav):
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{jfk_wav}", "-F", "language=xx")
    assert status == 400 and "unknown language" in error_of(body)["message"]


def test_missing_file_is_a_400_in_each_endpoints_shape(server):
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", "model=whisper-1")
    assert status == 400 and error_of(body)["param"] == "file"
    status, body, _ = curl(f"{server.url}/inference", "-F", "response_format=json")
    assert status == 400 and set(json.loads(body)) == {"error"} and "'file'" in json.loads(body)["error"]


def test_a_text_field_named_file_is_not_a_file(server):
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", "file=hello")
    assert status == 400 and error_of(body)["code"] == "missing_file"


@pytest.mark.parametrize("content", [b"", b"this is not audio at all" * 40, b"RIFF\x00\x00\x00\x00WAVEfmt "])
def test_undecodable_or_empty_audio_is_a_400(server, tmp_path, content):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(content)
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-F", f"file=@{bad}")
    assert status == 400
    assert "bad.wav" in error_of(body)["message"]


@pytest.mark.parametrize("content_type, body", [
    ("multipart/form-data; boundary=zz", r"--zz\r\nbroken"),
    ("multipart/form-data; boundary=zz", "--zz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nabc"),
    ("multipart/form-data", "no boundary"),
])
def test_a_malformed_form_is_a_400_and_no_log_line(server, content_type, body):
    status, answer, _ = curl(f"{server.url}/inference", "-H", f"Content-Type: {content_type}", "--data-binary", body)
    assert status == 400 and set(json.loads(answer)) == {"error"}
    assert "boundary" not in server.log.read_text()  # the client's 400, not a warning in the server's log


def test_not_a_form_is_a_415(server, jfk_wav):
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions", "-H", "Content-Type: audio/wav",
                           "--data-binary", f"@{jfk_wav}")
    assert status == 415 and error_of(body)["code"] == "unsupported_media_type"


def test_unknown_routes_and_methods(server):
    status, body, _ = curl(f"{server.url}/v1/nothing")
    assert status == 404 and error_of(body)["code"] == "not_found"
    status, body, _ = curl(f"{server.url}/v1/audio/transcriptions")
    assert status == 405 and error_of(body)["code"] == "method_not_allowed"


def test_load_is_off_by_default(server):
    status, body, _ = curl(f"{server.url}/load", "-F", "model=tiny.en")
    assert status == 403 and "--allow-load" in json.loads(body)["error"]


def test_models_lists_the_loaded_model(server):
    status, body, _ = curl(f"{server.url}/v1/models")
    assert status == 200
    (entry,) = json.loads(body)["data"]
    assert entry["object"] == "model"
    status, body, _ = curl(f"{server.url}/v1/models/{entry['id']}")
    assert status == 200 and json.loads(body) == entry
    status, body, _ = curl(f"{server.url}/v1/models/gpt-4o")
    assert status == 404 and error_of(body)["param"] == "model"
