"""Immutable result records.  Times are integer milliseconds and say so in their names.

libwhisper counts time in 10 ms ticks; ``start_ms = ticks * 10`` is exact, so writers
that need whisper-cli's tick-based formats can divide back without loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Token:
    id: int
    text_bytes: bytes  # raw bytes from the vocabulary: may be part of a UTF-8 sequence
    p: float
    plog: float
    pt: float
    ptsum: float
    start_ms: int | None  # None where libwhisper has no token timestamp (t0 == -1)
    end_ms: int | None
    dtw_ms: int | None  # DTW timestamp, None unless the model was loaded with dtw=...
    vlen: float
    is_special: bool  # id >= end-of-text: [_BEG_], [_TT_n], <|en|>, ...

    @property
    def text(self) -> str:
        return self.text_bytes.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Segment:
    index: int
    start_ms: int
    end_ms: int
    text_bytes: bytes  # as libwhisper returns it: starts with a space in v1.9.1
    no_speech_prob: float
    speaker_turn_next: bool  # tinydiarize: the next segment starts a new speaker
    tokens: tuple[Token, ...] = ()

    @property
    def text(self) -> str:
        return self.text_bytes.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Timings:
    """Wall-clock milliseconds measured around the native calls."""

    total_ms: float
    samples: int


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str  # the code used or detected, e.g. "en"
    duration_ms: int  # of the audio given (before offset/duration trimming)
    timings: Timings
    translated: bool = False
    aborted: bool = False  # stopped early by the abort predicate; segments are what was decoded
    extras: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def text(self) -> str:
        return "".join(s.text for s in self.segments)


@dataclass(frozen=True)
class LanguageGuess:
    code: str  # "en"
    name: str  # "english"
    probability: float
