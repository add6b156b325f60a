"""What a transcription is asked to do: whisper-cli's options as one typed record.

:class:`TranscribeOptions` holds whisper-cli v1.9.1's decoding, timestamp, output,
speaker and VAD options under the names of whisper-cli's ``whisper_params`` struct
(which carry their units: ``offset_t_ms``, ``duration_ms``) and with its defaults.
Every client builds one: the CLI from its flags, the server from form fields, a
cluster task from its arguments.  Then:

* :func:`validate` is the one place that checks a record (languages, DTW presets,
  ``-di`` with ``-tdrz``, the grammar, the VAD model, ...) and raises
  :class:`~whispercli.errors.UsageError` with one line naming the option;
* :func:`to_full_params` is the one mapping to libwhisper's :class:`FullParams`,
  field for field as whisper-cli fills ``wparams``;
* :func:`for_model` applies what whisper-cli does for an English-only model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable, Iterable

from .errors import UsageError
from .params import DTW_PRESETS, FLT_MAX, FullParams, SamplingStrategy, default_threads

#: Every output format, in the order whisper-cli writes them (``json-full`` replaces ``json``).
FORMAT_NAMES = ("txt", "vtt", "srt", "wts", "csv", "json", "json-full", "lrc", "score")
#: whisper-cli's ``-fp`` default (a macOS path: elsewhere ``-owts`` needs ``-fp``).
DEFAULT_FONT_PATH = "/System/Library/Fonts/Supplemental/Courier New Bold.ttf"


@dataclass(frozen=True)
class TranscribeOptions:
    """One transcription's options; field names follow whisper-cli's ``whisper_params``."""

    # ---- decoding
    language: str = "en"  # code or English name; "auto" detects
    detect_language: bool = False  # -dl: detect, then stop
    translate: bool = False
    prompt: str = ""
    carry_initial_prompt: bool = False
    max_context: int = -1  # past-text tokens used as prompt; -1 = libwhisper's 16384
    best_of: int = 5
    beam_size: int = 5  # > 1: beam search (whisper-cli's default)
    temperature: float = 0.0
    temperature_inc: float = 0.2
    no_fallback: bool = False
    entropy_thold: float = 2.4
    logprob_thold: float = -1.0
    no_speech_thold: float = 0.6
    suppress_nst: bool = False
    suppress_regex: str = ""
    grammar: str = ""  # GBNF text (validate() reads it from a file when given a path)
    grammar_rule: str = ""
    grammar_penalty: float = 100.0
    audio_ctx: int = 0  # encoder context; 0 = all 1500 frames
    debug_mode: bool = False
    # ---- timestamps and segments
    offset_t_ms: int = 0
    offset_n: int = 0  # SRT cue numbers start at offset_n + 1
    duration_ms: int = 0  # 0 = to the end
    max_len: int = 0  # segment length in UTF-8 characters; 0 = no limit
    split_on_word: bool = False
    word_thold: float = 0.01
    no_timestamps: bool = False
    dtw: str = ""  # a DTW_PRESETS name, or "" for none
    # ---- outputs
    formats: tuple[str, ...] = ()  # FORMAT_NAMES, in whisper-cli's write order
    font_path: str = DEFAULT_FONT_PATH
    compat: bool = False  # whisper-cli's exact bytes even where they are invalid (implies exact)
    exact: bool = False  # whisper.cpp v1.9.1's numerics; default: the tiled sgemm (FullParams.exact)
    # ---- what the live segment lines show
    print_special: bool = False
    print_colors: bool = False
    print_confidence: bool = False
    # ---- speakers
    diarize: bool = False  # -di: stereo, speaker per channel
    tinydiarize: bool = False  # -tdrz
    # ---- voice activity detection
    vad: bool = False
    vad_model: str = ""
    vad_threshold: float = 0.5
    vad_min_speech_duration_ms: int = 250
    vad_min_silence_duration_ms: int = 100
    vad_max_speech_duration_s: float = FLT_MAX
    vad_speech_pad_ms: int = 30
    vad_samples_overlap: float = 0.1
    # ---- compute
    threads: int = field(default_factory=default_threads)
    processors: int = 1  # -p: split the audio into N chunks decoded at once

    def replace(self, **changes) -> TranscribeOptions:
        """A copy with ``changes``; an unknown name raises :class:`UsageError`."""
        unknown = sorted(set(changes) - OPTION_NAMES)
        if unknown:
            raise UsageError(f"unknown option(s): {', '.join(unknown)}")
        return replace(self, **changes)

    @property
    def token_timestamps(self) -> bool:
        """whisper-cli turns token timestamps on for ``-owts``, ``-ojf`` and ``-ml N``."""
        return "wts" in self.formats or "json-full" in self.formats or self.max_len > 0

    @property
    def uses_grammar(self) -> bool:
        """whisper-cli uses the grammar only when both ``--grammar`` and ``--grammar-rule`` are set."""
        return bool(self.grammar and self.grammar_rule)


OPTION_NAMES = frozenset(f.name for f in fields(TranscribeOptions))


def parse_formats(values: Iterable[str]) -> tuple[str, ...]:
    """Format names (each value may be comma-separated) in whisper-cli's write order."""
    chosen = set()
    for value in values:
        for name in str(value).split(","):
            name = name.strip().lower()
            if not name:
                continue
            if name not in FORMAT_NAMES:
                raise UsageError(f"unknown output format {name!r} (one of: {', '.join(FORMAT_NAMES)})")
            chosen.add(name)
    if "json-full" in chosen:
        chosen.discard("json")  # -ojf writes the same .json file, with tokens
    return tuple(name for name in FORMAT_NAMES if name in chosen)


def validate(options: TranscribeOptions, *, read_files: bool = True,
             on_vad_download: Callable[[object], None] | None = None) -> TranscribeOptions:
    """Check ``options`` as a whole; return them normalised (language lowercased, grammar text read,
    the VAD model resolved to a checked file).

    With ``vad`` and no ``vad_model``, the default VAD model (silero-v6.2.0) is taken from the
    model cache, or downloaded into it first (``on_vad_download`` hears that download's events);
    a VAD model name is resolved the same way (:func:`whispercli.vad.resolve_vad_model`).

    ``read_files=False`` refuses paths where a client must not name server files (the
    grammar is then taken as text, and the VAD model and font must be given as they are).
    Raises :class:`UsageError` with one line naming the option; a VAD model that is missing
    or malformed raises :class:`~whispercli.errors.ModelError`, a failed VAD download
    :class:`~whispercli.errors.DownloadError`.
    """
    from . import system

    o = options
    _check_ranges(o)
    language = o.language.strip().lower()
    if language != "auto" and not system.is_language(language):
        raise UsageError(f"unknown language {o.language!r} (see `whispercli detect-lang --help` for codes)")
    if o.diarize and o.tinydiarize:
        raise UsageError("cannot use both --diarize and --tinydiarize")
    if o.dtw and o.dtw not in DTW_PRESETS:
        raise UsageError(f"unknown DTW preset {o.dtw!r} (one of: {', '.join(DTW_PRESETS)})")
    unknown_formats = [f for f in o.formats if f not in FORMAT_NAMES]
    if unknown_formats:
        raise UsageError(f"unknown output format {unknown_formats[0]!r} (one of: {', '.join(FORMAT_NAMES)})")
    vad_model = o.vad_model
    if o.vad:
        from .vad import VadOptions, resolve_vad_model

        VadOptions.from_options(o).check()
        vad_model = str(resolve_vad_model(o.vad_model, on_event=on_vad_download))
    if "wts" in o.formats and not Path(o.font_path).is_file():
        raise UsageError(f"font not found at {o.font_path!r}, please specify a monospace font with -fp")
    grammar = _grammar_text(o.grammar) if (o.grammar and read_files) else o.grammar
    if o.uses_grammar or o.suppress_regex:
        from . import _native

        if o.uses_grammar:
            _native.Grammar(grammar)  # a parse error is the user's: UsageError with the parser's reason
        if o.suppress_regex and not _native.regex_ok(o.suppress_regex):
            raise UsageError(f"--suppress-regex {o.suppress_regex!r} is not a valid regular expression")
    return replace(o, language=language, grammar=grammar, vad_model=vad_model)


#: Integer options and their ranges (libwhisper takes int32; ggml runs at most 512 threads;
#: at most WHISPER_MAX_DECODERS = 8 beams or candidates; the encoder has 1500 frames).
INT32_MAX = (1 << 31) - 1
_INT_RANGES = {
    "threads": (1, 512, "--threads"), "processors": (1, 64, "--processors"),
    "beam_size": (-1, 8, "--beam-size"), "best_of": (-1, 8, "--best-of"),
    "max_context": (-1, INT32_MAX, "--max-context"), "audio_ctx": (0, 1500, "--audio-ctx"),
    "offset_t_ms": (0, INT32_MAX, "--offset-t"), "offset_n": (-INT32_MAX, INT32_MAX, "--offset-n"),
    "duration_ms": (0, INT32_MAX, "--duration"), "max_len": (0, INT32_MAX, "--max-len"),
    "vad_min_speech_duration_ms": (0, INT32_MAX, "--vad-min-speech-duration-ms"),
    "vad_min_silence_duration_ms": (0, INT32_MAX, "--vad-min-silence-duration-ms"),
    "vad_speech_pad_ms": (0, INT32_MAX, "--vad-speech-pad-ms"),
}
#: Float options: (lowest, highest) or None for any finite value.
_FLOAT_RANGES = {
    "temperature": ((0.0, FLT_MAX), "--temperature"), "temperature_inc": ((0.0, FLT_MAX), "--temperature-inc"),
    "entropy_thold": (None, "--entropy-thold"), "logprob_thold": (None, "--logprob-thold"),
    "no_speech_thold": (None, "--no-speech-thold"), "grammar_penalty": ((0.0, FLT_MAX), "--grammar-penalty"),
    "word_thold": ((0.0, 1.0), "--word-thold"), "vad_threshold": ((0.0, 1.0), "--vad-threshold"),
    "vad_max_speech_duration_s": ((0.0, FLT_MAX), "--vad-max-speech-duration-s"),
    "vad_samples_overlap": ((0.0, FLT_MAX), "--vad-samples-overlap"),
}
_TEXT_OPTIONS = {"language": "--language", "prompt": "--prompt", "suppress_regex": "--suppress-regex",
                 "grammar": "--grammar", "grammar_rule": "--grammar-rule", "vad_model": "--vad-model",
                 "font_path": "--font-path", "dtw": "--dtw"}


def _check_ranges(o: TranscribeOptions) -> None:
    """Every number in the range libwhisper handles, every text encodable: else one UsageError line."""
    for name, (lo, hi, flag) in _INT_RANGES.items():
        value = getattr(o, name)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            allowed = f"{lo} to {hi}" if name not in ("beam_size", "best_of") else f"1 to {hi} (or -1)"
            raise UsageError(f"{flag} must be an integer from {allowed}, not {value!r}")
        if name in ("beam_size", "best_of") and value == 0:
            raise UsageError(f"{flag} must be at least 1 (or -1), not 0")
    for name, (bounds, flag) in _FLOAT_RANGES.items():
        value = getattr(o, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UsageError(f"{flag} must be a finite number, not {value!r}")
        if bounds is not None and not bounds[0] <= value <= bounds[1]:
            raise UsageError(f"{flag} must be between {bounds[0]:g} and {bounds[1]:g}, not {value!r}")
    for name, flag in _TEXT_OPTIONS.items():
        value = getattr(o, name)
        if not isinstance(value, str):
            raise UsageError(f"{flag} must be text, not {type(value).__name__}")
        if "\0" in value:
            raise UsageError(f"{flag} cannot contain a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"{flag} is not valid UTF-8 text") from None


def _grammar_text(value: str) -> str:
    """``--grammar`` takes a file path or inline GBNF text, as whisper-cli does."""
    path = Path(value)
    try:
        if len(value) < os.pathconf("/", "PC_PATH_MAX") and path.is_file():
            return path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read grammar file {value!r}: {getattr(exc, 'strerror', None) or exc}") from None
    return value


def for_model(options: TranscribeOptions, *, multilingual: bool) -> tuple[TranscribeOptions, list[str]]:
    """What whisper-cli does for an English-only model: force ``en``, no translation, and say so."""
    if multilingual or (options.language == "en" and not options.translate):
        return options, []
    warning = "model is not multilingual, ignoring language and translation options"
    return replace(options, language="en", translate=False), [warning]


def to_full_params(options: TranscribeOptions) -> FullParams:
    """whisper-cli's ``wparams`` block, field for field (cli.cpp ``main``)."""
    o = options
    use_grammar = o.uses_grammar
    return FullParams(
        strategy=SamplingStrategy.BEAM_SEARCH if (o.beam_size > 1 or use_grammar) else SamplingStrategy.GREEDY,
        print_realtime=False,
        print_progress=False,
        print_timestamps=not o.no_timestamps,
        print_special=o.print_special,
        translate=o.translate,
        language="auto" if o.detect_language else o.language,
        detect_language=o.detect_language,
        n_threads=o.threads,
        n_max_text_ctx=o.max_context if o.max_context >= 0 else 16384,
        offset_ms=o.offset_t_ms,
        duration_ms=o.duration_ms,
        token_timestamps=o.token_timestamps,
        thold_pt=o.word_thold,
        max_len=60 if "wts" in o.formats and o.max_len == 0 else o.max_len,
        split_on_word=o.split_on_word,
        audio_ctx=o.audio_ctx,
        debug_mode=o.debug_mode,
        tdrz_enable=o.tinydiarize,
        suppress_regex=o.suppress_regex or None,
        initial_prompt=o.prompt,
        carry_initial_prompt=o.carry_initial_prompt,
        best_of=o.best_of,
        beam_size=o.beam_size,
        temperature_inc=0.0 if o.no_fallback else o.temperature_inc,
        temperature=o.temperature,
        entropy_thold=o.entropy_thold,
        logprob_thold=o.logprob_thold,
        no_speech_thold=o.no_speech_thold,
        no_timestamps=o.no_timestamps,
        suppress_nst=o.suppress_nst,
        grammar=o.grammar if use_grammar else None,
        grammar_rule=o.grammar_rule if use_grammar else None,
        grammar_penalty=o.grammar_penalty,
        vad=o.vad,
        vad_model_path=o.vad_model or None,
        vad_threshold=o.vad_threshold,
        vad_min_speech_duration_ms=o.vad_min_speech_duration_ms,
        vad_min_silence_duration_ms=o.vad_min_silence_duration_ms,
        vad_max_speech_duration_s=o.vad_max_speech_duration_s,
        vad_speech_pad_ms=o.vad_speech_pad_ms,
        vad_samples_overlap=o.vad_samples_overlap,
        exact=o.exact or o.compat,
    )
