"""Output formats, byte-for-byte as whisper-cli v1.9.1 writes them.

Pure Python: nothing here imports the native module.  Every writer is
``write(transcript, fp, ctx) -> None`` with ``fp`` a binary stream, so the CLI
decides where bytes go (a temp file renamed into place, or stdout).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class OutputContext:
    """What the writers need besides the transcript (mirrors whisper-cli's params)."""

    input_path: str  # the input as named on the command line ("-" for stdin)
    output_base: str  # output path without extension (whisper-cli: -of value, or the input path)
    model_path: str  # -m as given: JSON "params.model"
    language_arg: str  # -l as given: JSON "params.language"
    translate: bool
    system_info: str  # whisper_print_system_info()
    model_info: dict  # whispercli._native.model_info(ctx)
    n_samples: int  # of the mono 16 kHz input (wts uses (n_samples + 1000) / 16000 s)
    speakers: tuple[str, ...] | None = None  # per segment "0" | "1" | "?" (-di on stereo input)
    tinydiarize: bool = False
    offset_n: int = 0  # -on: SRT cue numbers start at offset_n + 1
    font_path: str = "/System/Library/Fonts/Supplemental/Courier New Bold.ttf"
    max_len: int = 0  # -ml as given (wts)
    compat: bool = False  # keep whisper-cli's bytes even where they are invalid (see docs)
    extras: dict = field(default_factory=dict)
