"""Form fields -> a :class:`~whispercli.options.TranscribeOptions` and what to answer with.

The server is a client of the library like the CLI: it builds the one options record
from whisper-server's snake_case fields (and OpenAI's), over the server-side defaults
given to ``serve``, and :func:`whispercli.options.validate` checks it as it checks the
CLI's.  A value that does not parse is a :class:`BadRequest` naming the field (where
whisper-server answers 500 from an uncaught ``std::stoi``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

from ..options import TranscribeOptions, validate
from .errors import BadRequest

RESPONSE_FORMATS = ("json", "text", "srt", "vtt", "verbose_json")
GRANULARITIES = ("segment", "word")
#: whisper-server turns ``max_len`` 0 into 60 on /inference (and token timestamps on).
WHISPER_SERVER_MAX_LEN = 60

_TRUE = ("true", "1", "yes", "y", "on")
_FALSE = ("false", "0", "no", "n", "off", "")


def parse_bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise BadRequest(f"field {name!r} must be true or false, not {value!r}", param=name)


def parse_int(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise BadRequest(f"field {name!r} must be an integer, not {value!r}", param=name) from None


def parse_float(name: str, value: str) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise BadRequest(f"field {name!r} must be a number, not {value!r}", param=name)
    return number


def _text(name: str, value: str) -> str:
    return value


# whisper-server's request fields (server.cpp get_req_parameters) -> (option name, parser).
_OPTION_FIELDS: dict[str, tuple[str, Callable[[str, str], object]]] = {
    "offset_t": ("offset_t_ms", parse_int),
    "offset_n": ("offset_n", parse_int),
    "duration": ("duration_ms", parse_int),
    "max_context": ("max_context", parse_int),
    "max_len": ("max_len", parse_int),
    "best_of": ("best_of", parse_int),
    "beam_size": ("beam_size", parse_int),
    "audio_ctx": ("audio_ctx", parse_int),
    "word_thold": ("word_thold", parse_float),
    "entropy_thold": ("entropy_thold", parse_float),
    "logprob_thold": ("logprob_thold", parse_float),
    "no_speech_thold": ("no_speech_thold", parse_float),
    "debug_mode": ("debug_mode", parse_bool),
    "translate": ("translate", parse_bool),
    "diarize": ("diarize", parse_bool),
    "tinydiarize": ("tinydiarize", parse_bool),
    "split_on_word": ("split_on_word", parse_bool),
    "no_timestamps": ("no_timestamps", parse_bool),
    "language": ("language", _text),
    "detect_language": ("detect_language", parse_bool),
    "prompt": ("prompt", _text),
    "carry_initial_prompt": ("carry_initial_prompt", parse_bool),
    "temperature": ("temperature", parse_float),
    "temperature_inc": ("temperature_inc", parse_float),
    "suppress_non_speech": ("suppress_nst", parse_bool),
    "suppress_nst": ("suppress_nst", parse_bool),
    "vad": ("vad", parse_bool),
    "vad_threshold": ("vad_threshold", parse_float),
    "vad_min_speech_duration_ms": ("vad_min_speech_duration_ms", parse_int),
    "vad_min_silence_duration_ms": ("vad_min_silence_duration_ms", parse_int),
    "vad_max_speech_duration_s": ("vad_max_speech_duration_s", parse_float),
    "vad_speech_pad_ms": ("vad_speech_pad_ms", parse_int),
    "vad_samples_overlap": ("vad_samples_overlap", parse_float),
}
# Accepted for whisper-server compatibility; checked, with no effect of its own:
# token timestamps follow max_len (as in whisper-cli).
_CHECKED_ONLY = {"token_timestamps": parse_bool}


@dataclass(frozen=True)
class RequestSpec:
    """What one request asks for: the options and the shape of the answer."""

    options: TranscribeOptions
    response_format: str = "json"
    words: bool = False  # OpenAI verbose_json: top-level words[]
    segments: bool = True  # OpenAI verbose_json: segments[]
    stream: bool = False  # OpenAI: server-sent events, one delta per segment
    language_probabilities: bool = False  # /inference verbose_json: whisper-server's extra detection pass


def _one(fields: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = fields.get(name)
    return values[-1] if values else None


def request_spec(fields: Mapping[str, Sequence[str]], defaults: TranscribeOptions, *, endpoint: str,
                 language_probabilities: bool = True) -> RequestSpec:
    """The options for a request on ``endpoint`` ("inference", "transcriptions" or "translations").

    ``language_probabilities`` is the server's default for whisper-server's
    ``no_language_probabilities`` field (``serve -nlp`` turns it off).

    Raises :class:`BadRequest` (a field) or :class:`~whispercli.errors.UsageError`
    (an option value, from :func:`validate`): both are 400s.
    """
    changes: dict[str, object] = {}
    for name, (option, parse) in _OPTION_FIELDS.items():
        value = _one(fields, name)
        if value is not None:
            changes[option] = parse(name, value)
    for name, parse in _CHECKED_ONLY.items():
        value = _one(fields, name)
        if value is not None:
            parse(name, value)
    response_format = (_one(fields, "response_format") or "json").strip().lower()
    if response_format not in RESPONSE_FORMATS:
        raise BadRequest(f"unknown response_format {response_format!r} (one of: {', '.join(RESPONSE_FORMATS)})",
                         param="response_format")
    granularities = [g.strip().lower() for key in ("timestamp_granularities[]", "timestamp_granularities")
                     for g in fields.get(key, ()) if g.strip()]
    for g in granularities:
        if g not in GRANULARITIES:
            raise BadRequest(f"unknown timestamp granularity {g!r} (one of: {', '.join(GRANULARITIES)})",
                             param="timestamp_granularities[]")
    no_probabilities = _one(fields, "no_language_probabilities")
    if no_probabilities is not None:
        language_probabilities = not parse_bool("no_language_probabilities", no_probabilities)
    stream_value = _one(fields, "stream")
    stream = parse_bool("stream", stream_value) if stream_value is not None else False
    if stream and endpoint == "inference":
        raise BadRequest("stream is offered on /v1/audio/transcriptions and /v1/audio/translations", param="stream")
    if endpoint == "translations":
        changes["translate"] = True
    options = defaults.replace(**changes)
    if endpoint == "inference" and options.max_len == 0:
        options = options.replace(max_len=WHISPER_SERVER_MAX_LEN)
    words = "word" in granularities and response_format == "verbose_json"
    if words:
        # token timestamps without changing the segmentation: what -ojf does in the CLI
        options = options.replace(formats=("json-full",))
    options = validate(options, read_files=False)
    return RequestSpec(options=options, response_format=response_format, words=words,
                       segments=not granularities or "segment" in granularities, stream=stream,
                       language_probabilities=(language_probabilities and endpoint == "inference"
                                               and response_format == "verbose_json"))
