"""Output formats, byte-for-byte as whisper-cli v1.9.1 writes them.

Pure Python: nothing here imports the native module (or numpy).  Every writer is
``write(transcript, fp, ctx) -> None`` with ``fp`` a binary stream, so the CLI
decides where bytes go (a temp file renamed into place, or stdout).

:data:`FORMATS` lists them in the order whisper-cli writes them.  By default the
writers differ from whisper-cli where whisper-cli writes invalid files (invalid
UTF-8, invalid JSON, unescaped WebVTT); ``OutputContext(compat=True)`` gives
whisper-cli's exact bytes.  ``docs/differences.md`` lists each difference.

The stdout lines whisper-cli prints while decoding are in :mod:`.live`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO, Callable


@dataclass(frozen=True)
class OutputContext:
    """What the writers need besides the transcript (mirrors whisper-cli's params)."""

    input_path: str  # the input as named on the command line ("-" for stdin)
    output_base: str  # output path without extension (whisper-cli: -of value, or the input path)
    model_path: str  # -m as given: JSON "params.model"
    # -l as whisper-cli holds it when writing: lowercased, "en" for an English-only
    # model, "auto" with -dl.  JSON "params.language".
    language_arg: str
    translate: bool  # JSON "params.translate": false for an English-only model
    system_info: str  # whisper_print_system_info()
    model_info: dict  # whispercli._native.model_info(ctx)
    n_samples: int  # of the mono 16 kHz input (wts uses (n_samples + 1000) / SAMPLE_RATE s)
    # -di: per segment "0" | "1" | "?" (whispercli.diarize.estimate_speakers); None without -di.
    # whisper-cli reads every input as stereo with -di (mono is duplicated), so -di always has them.
    speakers: tuple[str, ...] | None = None
    tinydiarize: bool = False
    offset_n: int = 0  # -on: SRT cue numbers start at offset_n + 1
    font_path: str = "/System/Library/Fonts/Supplemental/Courier New Bold.ttf"
    max_len: int = 0  # -ml as given (wts)
    compat: bool = False  # keep whisper-cli's bytes even where they are invalid (see docs)
    extras: dict = field(default_factory=dict)


Writer = Callable[[object, BinaryIO, OutputContext], None]


@dataclass(frozen=True)
class Format:
    name: str  # the key in FORMATS: "txt", ..., "json-full", "score"
    extension: str  # appended to OutputContext.output_base: ".txt", ..., ".score.txt"
    write: Writer


def _formats() -> dict[str, Format]:
    from . import csv, json, lrc, score, srt, txt, vtt, wts

    table = [
        ("txt", ".txt", txt.write),
        ("vtt", ".vtt", vtt.write),
        ("srt", ".srt", srt.write),
        ("wts", ".wts", wts.write),
        ("csv", ".csv", csv.write),
        ("json", ".json", json.write),
        ("json-full", ".json", json.write_full),  # -ojf replaces -oj: same file
        ("lrc", ".lrc", lrc.write),
        ("score", ".score.txt", score.write),  # -ls
    ]
    return {name: Format(name, ext, fn) for name, ext, fn in table}


#: Every format, in whisper-cli's write order (txt, vtt, srt, wts, csv, json, lrc, score).
FORMATS: dict[str, Format] = _formats()


def write_format(name: str, transcript, fp: BinaryIO, ctx: OutputContext) -> None:
    """Write ``transcript`` as format ``name`` (a :data:`FORMATS` key) to the binary stream ``fp``."""
    try:
        fmt = FORMATS[name]
    except KeyError:
        raise ValueError(f"unknown output format {name!r} (one of: {', '.join(FORMATS)})") from None
    fmt.write(transcript, fp, ctx)
