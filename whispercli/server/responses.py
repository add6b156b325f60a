"""A finished job as an HTTP body: the CLI's bytes for text/srt/vtt, and the JSON shapes.

``text``, ``srt`` and ``vtt`` are exactly what ``transcribe -otxt/-osrt/-ovtt`` writes
for the same options (:meth:`whispercli.job.JobResult.render`).  The JSON bodies
follow the endpoint: whisper-server's on ``/inference``, OpenAI's on ``/v1``.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

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
            entry["start"] = seg.start_ms / 1000.0
            entry["end"] = seg.end_ms / 1000.0
        if speakers is not None:
            entry["speaker"] = speakers[i]
        tokens = _text_tokens(seg)
        entry["tokens"] = [t.id for t in tokens]
        words = []
        for tok in merge_split_tokens(tokens):
            word: dict = {"word": tok.text}
            if not o.no_timestamps and o.token_timestamps:
                word.update(start=_seconds(tok.start_ms), end=_seconds(tok.end_ms),
                            t_dtw=-1 if tok.dtw_ms is None else tok.dtw_ms // 10)
            word["probability"] = tok.p
            words.append(word)
        entry["words"] = words
        entry["temperature"] = o.temperature
        entry["avg_logprob"] = _avg_logprob(tokens, len(seg.tokens))
        entry["no_speech_prob"] = seg.no_speech_prob
        segments.append(entry)
    return {
        "task": "translate" if o.translate else "transcribe",
        "language": language_name(transcript.language),
        "duration": result.audio_s,
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
