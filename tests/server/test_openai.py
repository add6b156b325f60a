"""The official ``openai`` SDK against ``whispercli serve`` (base_url on 127.0.0.1)."""

from __future__ import annotations

import pytest

from helpers import JFK_WORDS, words

openai = pytest.importorskip("openai")


@pytest.fixture(scope="module")
def client(server):
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", timeout=300) as c:
        yield c


def test_json(client, jfk_wav):
    with open(jfk_wav, "rb") as fp:
        result = client.audio.transcriptions.create(model="whisper-1", file=fp)
    assert words(result.text) == JFK_WORDS
    assert result.text == result.text.strip()


@pytest.mark.parametrize("fmt, ext", [("text", "txt"), ("srt", "srt"), ("vtt", "vtt")])
def test_text_formats_are_the_cli_bytes(client, jfk_wav, cli_outputs, fmt, ext):
    with open(jfk_wav, "rb") as fp:
        result = client.audio.transcriptions.create(model="whisper-1", file=fp, response_format=fmt)
    assert result == cli_outputs()[ext].decode()


def test_verbose_json_with_words_and_segments(client, jfk_wav):
    with open(jfk_wav, "rb") as fp:
        result = client.audio.transcriptions.create(model="whisper-1", file=fp, response_format="verbose_json",
                                                    timestamp_granularities=["word", "segment"])
    assert result.language == "english" and result.duration == pytest.approx(11.0)
    assert words(result.text) == JFK_WORDS
    assert words(" ".join(w.word for w in result.words)) == JFK_WORDS
    assert all(0 <= w.start <= w.end <= 11.0 for w in result.words)
    assert [w.start for w in result.words] == sorted(w.start for w in result.words)
    segments = result.segments
    assert segments and segments[0].start == 0.0 and segments[-1].end <= 11.0
    for seg in segments:
        assert seg.tokens and seg.avg_logprob < 0 and seg.compression_ratio > 0 and 0 <= seg.no_speech_prob <= 1
    assert words("".join(s.text for s in segments)) == JFK_WORDS


def test_verbose_json_words_only_has_no_segments(client, jfk_wav):
    with open(jfk_wav, "rb") as fp:
        result = client.audio.transcriptions.create(model="whisper-1", file=fp, response_format="verbose_json",
                                                    timestamp_granularities=["word"])
    assert result.words and not result.segments


def test_word_timestamps_do_not_change_the_text(client, jfk_wav):
    with open(jfk_wav, "rb") as fp:
        plain = client.audio.transcriptions.create(model="whisper-1", file=fp, response_format="verbose_json")
    with open(jfk_wav, "rb") as fp:
        timed = client.audio.transcriptions.create(model="whisper-1", file=fp, response_format="verbose_json",
                                                   timestamp_granularities=["word", "segment"])
    assert [s.text for s in plain.segments] == [s.text for s in timed.segments]
    assert plain.words is None


def test_translations(client, jfk_wav):
    # an English-only model ignores translation, as whisper-cli does: the text is the transcript
    with open(jfk_wav, "rb") as fp:
        result = client.audio.translations.create(model="whisper-1", file=fp, response_format="verbose_json")
    assert result.task == "translate" or words(result.text) == JFK_WORDS
    assert words(result.text) == JFK_WORDS


def test_streaming_one_delta_per_segment_then_done(client, jfk_wav, cli_outputs):
    with open(jfk_wav, "rb") as fp:
        stream = client.audio.transcriptions.create(model="whisper-1", file=fp, stream=True)
        events = list(stream)
    deltas = [e.delta for e in events if e.type == "transcript.text.delta"]
    done = [e for e in events if e.type == "transcript.text.done"]
    assert events[-1].type == "transcript.text.done" and len(done) == 1
    assert deltas == [line + "" for line in cli_outputs()["txt"].decode().splitlines()]
    assert done[0].text == "".join(deltas).strip()


def test_streaming_a_bad_file_is_a_plain_400(client, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio" * 100)
    with pytest.raises(openai.BadRequestError) as excinfo, open(bad, "rb") as fp:
        list(client.audio.transcriptions.create(model="whisper-1", file=fp, stream=True))
    assert excinfo.value.status_code == 400


def test_a_client_error_is_sent_once_not_retried(server, jfk_wav):
    """The SDK retries 408/409/429/5xx twice: a client error must be a 4xx that it does not retry."""
    before = server.metrics()
    key = 'whispercli_requests_total{endpoint="/v1/audio/transcriptions",status="400"}'
    with openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=2) as c:
        with pytest.raises(openai.BadRequestError) as excinfo, open(jfk_wav, "rb") as fp:
            c.audio.transcriptions.create(model="whisper-1", file=fp, temperature="hot")
    assert excinfo.value.status_code == 400 and excinfo.value.param == "temperature"
    assert server.metrics()[key] - before.get(key, 0.0) == 1.0


@pytest.mark.slow
def test_a_stream_closed_early_aborts_its_computation(client, server, long_wav):
    key = 'whispercli_aborts_total{reason="client_closed_request"}'
    before = server.metrics().get(key, 0)
    with open(long_wav, "rb") as fp:
        stream = client.audio.transcriptions.create(model="whisper-1", file=fp, stream=True)
        first = next(iter(stream))
        stream.close()
    assert first.type == "transcript.text.delta"
    server.wait_until(lambda m: m["whispercli_in_flight"] == 0, 20, "the computation went on without its client")
    assert server.metrics()[key] == before + 1
