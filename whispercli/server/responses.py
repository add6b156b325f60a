"""A finished job as an HTTP body: the CLI's bytes for text/srt/vtt, and the JSON shapes.

``text``, ``srt`` and ``vtt`` are exactly what ``transcribe -otxt/-osrt/-ovtt`` writes
for the same options (:meth:`whispercli.job.JobResult.render`).  The JSON bodies
follow the endpoint: whisper-server's on ``/inference``, OpenAI's on ``/v1``.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

from ..constants import SAMPLE_RATE
from .fields import RequestSpec

MEDIA_TYPES = {
    "json": "application/json",
    "verbose_json": "application/json",
    "text": "text/plain; charset=utf-8",  # whisper-server says text/html
    "srt": "application/x-subrip; charset=utf-8",
    "vtt": "text/vtt; charset=utf-8",
}
_WRITER_FOR = {"text": "txt", "srt": "srt", "vtt": "vtt"}


@dataclass(frozen=True)
class Body:
    content: bytes
    media_type: str


def render(served, spec: RequestSpec, *, openai: bool) -> Body:
    """``served`` is the engine's :class:`~whispercli.server.engine.Served`."""
    result = served.result
    fmt = spec.response_format
    media_type = MEDIA_TYPES[fmt]
    if fmt in _WRITER_FOR:
        return Body(result.render(_WRITER_FOR[fmt]), media_type)
    transcript = _valid_utf8(result.transcript)
    if fmt == "json":
        text = transcript.text.strip() if openai else result.render("txt").decode("utf-8", "replace")
        payload: dict = {"text": text}
    elif openai:
        payload = _openai_verbose(result, transcript, spec)
    else:
        payload = _whisper_server_verbose(result, transcript, spec, served.languages)
    return Body(json.dumps(payload, ensure_ascii=False).encode("utf-8"), media_type)


def _valid_utf8(transcript):
    from ..writers._utf8 import repair_transcript

    return repair_transcript(transcript)


def language_name(code: str) -> str:
    from .. import system

    return dict(system.languages()).get(code, code)


def _text_tokens(segment):
    return [t for t in segment.tokens if not t.is_special]


def _seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000.0


def _avg_logprob(tokens, n_all: int) -> float:
    return sum(t.plog for t in tokens) / n_all if n_all else 0.0


def _ticks_s(ms: int | None) -> float | None:
    """server.cpp's seconds: libwhisper's 10 ms ticks times 0.01 (7.140000000000001, where ms / 1000 is 7.14)."""
    return None if ms is None else (ms // 10) * 0.01


def _f32(x: float) -> float:
    """A value server.cpp holds in a C float, as it prints it."""
    import numpy as np

    return float(np.float32(x))


def _server_avg_logprob(tokens, n_all: int) -> float:
    """server.cpp's ``avg_logprob``: the text tokens' plog summed in a C float (a word split inside a
    character adds its later tokens before its first), over all the segment's tokens."""
    import numpy as np

    from ..writers._utf8 import trailing_bytes_needed

    if not n_all:
        return 0.0
    total = np.float32(0.0)
    j = 0
    while j < len(tokens):
        first, text = tokens[j], tokens[j].text_bytes
        j += 1
        while j < len(tokens) and trailing_bytes_needed(text) > 0:
            text += tokens[j].text_bytes
            total += np.float32(tokens[j].plog)
            j += 1
        total += np.float32(first.plog)
    return float(total / np.float32(n_all))


def _f32_seconds(n_samples: int) -> float:
    """server.cpp's ``duration``: ``float(n_samples) / WHISPER_SAMPLE_RATE``, in a C float."""
    import numpy as np

    return float(np.float32(n_samples) / np.float32(SAMPLE_RATE))


# server.cpp lists a language when its probability (a C float) is > 0.001f
_LISTED_ABOVE = 0.0010000000474974513


def _language_probabilities(languages) -> dict:
    """server.cpp's three keys from the detection pass (libwhisper's float32 values, as it prints them)."""
    top = languages[0]
    return {
        "detected_language": top.name,
        "detected_language_probability": top.probability,
        "language_probabilities": {g.code: g.probability for g in languages if g.probability > _LISTED_ABOVE},
    }


def _whisper_server_verbose(result, transcript, spec: RequestSpec, languages) -> dict:
    """server.cpp's verbose_json."""
    from ..writers._utf8 import merge_split_tokens

    o = spec.options
    speakers = result.context.speakers
    segments = []
    for i, seg in enumerate(transcript.segments):
        entry: dict = {"id": i, "text": seg.text}
        if not o.no_timestamps:
            entry["start"] = _ticks_s(seg.start_ms)
            entry["end"] = _ticks_s(seg.end_ms)
        if speakers is not None:
            entry["speaker"] = speakers[i]
        tokens = _text_tokens(seg)
        entry["tokens"] = [t.id for t in tokens]
        words = []
        for tok in merge_split_tokens(tokens):
            word: dict = {"word": tok.text}
            if not o.no_timestamps and o.token_timestamps:
                word.update(start=_ticks_s(tok.start_ms), end=_ticks_s(tok.end_ms),
                            t_dtw=-1 if tok.dtw_ms is None else tok.dtw_ms // 10)
            word["probability"] = tok.p
            words.append(word)
        entry["words"] = words
        entry["temperature"] = _f32(o.temperature)
        entry["avg_logprob"] = _server_avg_logprob(tokens, len(seg.tokens))
        entry["no_speech_prob"] = seg.no_speech_prob
        segments.append(entry)
    return {
        "task": "translate" if o.translate else "transcribe",
        "language": language_name(transcript.language),
        "duration": _f32_seconds(result.context.n_samples),
        "text": result.render("txt").decode("utf-8", "replace"),
        **(_language_probabilities(languages) if languages else {}),
        "segments": segments,
    }


def _compression_ratio(text: str) -> float:
    """openai-whisper's gzip compression ratio of a segment's text."""
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def openai_words(transcript) -> list[dict]:
    """Words with times in seconds: tokens joined until the next one starts with a space."""
    words: list[dict] = []
    for seg in transcript.segments:
        for tok in _text_tokens(seg):
            text = tok.text_bytes
            if words and not text.startswith(b" ") and words[-1]["_segment"] == seg.index:
                last = words[-1]
                last["_bytes"] += text
                last["end"] = _seconds(tok.end_ms) if tok.end_ms is not None else last["end"]
                continue
            words.append({"_segment": seg.index, "_bytes": text,
                          "start": _seconds(tok.start_ms if tok.start_ms is not None else seg.start_ms),
                          "end": _seconds(tok.end_ms if tok.end_ms is not None else seg.end_ms)})
    return [{"word": w["_bytes"].decode("utf-8", "replace").strip(), "start": w["start"], "end": w["end"]}
            for w in words if w["_bytes"].strip()]


def _openai_verbose(result, transcript, spec: RequestSpec) -> dict:
    """OpenAI's ``verbose_json`` (TranscriptionVerbose)."""
    o = spec.options
    payload: dict = {
        "task": "translate" if o.translate else "transcribe",
        "language": language_name(transcript.language),
        "duration": result.audio_s,
        "text": transcript.text.strip(),
    }
    if spec.segments:
        segments = []
        for i, seg in enumerate(transcript.segments):
            tokens = _text_tokens(seg)
            segments.append({
                "id": i,
                "seek": seg.start_ms // 10,  # libwhisper does not report the window; its start in ticks
                "start": seg.start_ms / 1000.0,
                "end": seg.end_ms / 1000.0,
                "text": seg.text,
                "tokens": [t.id for t in tokens],
                "temperature": o.temperature,
                "avg_logprob": _avg_logprob(tokens, len(tokens)),
                "compression_ratio": _compression_ratio(seg.text),
                "no_speech_prob": seg.no_speech_prob,
            })
        payload["segments"] = segments
    if spec.words:
        payload["words"] = openai_words(transcript)
    return payload
