"""Decoding and model-loading parameters, with libwhisper's own defaults.

``FullParams`` mirrors ``struct whisper_full_params`` field by field (same names;
the nested ``greedy``/``beam_search``/``vad_params`` members are flattened), minus
the callback pointers, which ``transcribe`` owns.  A test checks that
``FullParams.for_strategy(s)`` equals ``whisper_full_default_params(s)``.
"""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field, fields, replace

FLT_MAX = 3.4028234663852886e38


class SamplingStrategy(enum.IntEnum):
    GREEDY = 0
    BEAM_SEARCH = 1


#: DTW alignment-head presets, by the names whisper-cli's ``-dtw`` accepts.
DTW_PRESETS: dict[str, int] = {
    "tiny.en": 3,
    "tiny": 4,
    "base.en": 5,
    "base": 6,
    "small.en": 7,
    "small": 8,
    "medium.en": 9,
    "medium": 10,
    "large.v1": 11,
    "large.v2": 12,
    "large.v3": 13,
    "large.v3.turbo": 14,
}


def default_threads() -> int:
    """whisper.cpp's default: ``min(4, std::thread::hardware_concurrency())``."""
    return min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class ContextParams:
    use_gpu: bool = True
    flash_attn: bool = True
    gpu_device: int = 0
    dtw: str | None = None  # a DTW_PRESETS name; enables DTW token timestamps
    dtw_n_top: int = -1


@dataclass(frozen=True)
class FullParams:
    strategy: SamplingStrategy = SamplingStrategy.GREEDY
    n_threads: int = field(default_factory=default_threads)
    n_max_text_ctx: int = 16384
    offset_ms: int = 0
    duration_ms: int = 0
    translate: bool = False
    no_context: bool = True
    no_timestamps: bool = False
    single_segment: bool = False
    print_special: bool = False
    print_progress: bool = True
    print_realtime: bool = False
    print_timestamps: bool = True
    token_timestamps: bool = False
    thold_pt: float = 0.01
    thold_ptsum: float = 0.01
    max_len: int = 0
    split_on_word: bool = False
    max_tokens: int = 0
    debug_mode: bool = False
    audio_ctx: int = 0
    tdrz_enable: bool = False
    suppress_regex: str | None = None
    initial_prompt: str | None = None
    carry_initial_prompt: bool = False
    prompt_tokens: tuple[int, ...] | None = None
    language: str | None = "en"  # None or "auto": detect
    detect_language: bool = False
    suppress_blank: bool = True
    suppress_nst: bool = False
    temperature: float = 0.0
    max_initial_ts: float = 1.0
    length_penalty: float = -1.0
    temperature_inc: float = 0.2
    entropy_thold: float = 2.4
    logprob_thold: float = -1.0
    no_speech_thold: float = 0.6
    best_of: int = 5  # greedy.best_of
    beam_size: int = -1  # beam_search.beam_size
    patience: float = -1.0  # beam_search.patience (not implemented by whisper.cpp)
    grammar: str | None = None  # GBNF text; used with grammar_rule
    grammar_rule: str | None = None
    grammar_penalty: float = 100.0
    vad: bool = False
    vad_model_path: str | None = None
    vad_threshold: float = 0.5
    vad_min_speech_duration_ms: int = 250
    vad_min_silence_duration_ms: int = 100
    vad_max_speech_duration_s: float = FLT_MAX
    vad_speech_pad_ms: int = 30
    vad_samples_overlap: float = 0.1
    # Not a whisper_full_params field: the engine's numerics for this call.  False (the
    # default) runs matrix products through llamafile's tiled sgemm (patch 0007): faster,
    # same accuracy, not whisper-cli's bytes; True computes exactly as whisper.cpp v1.9.1.
    exact: bool = False

    @classmethod
    def for_strategy(cls, strategy: SamplingStrategy | str) -> FullParams:
        """libwhisper's defaults for ``strategy`` (only best_of/beam_size differ)."""
        strategy = _strategy(strategy)
        if strategy is SamplingStrategy.BEAM_SEARCH:
            return cls(strategy=strategy, best_of=-1, beam_size=5)
        return cls(strategy=strategy)

    def with_options(self, **options) -> FullParams:
        """A copy with ``options`` applied; unknown names raise ``TypeError``."""
        unknown = sorted(set(options) - FIELD_NAMES)
        if unknown:
            raise TypeError(f"unknown transcription option(s): {', '.join(unknown)}")
        if "strategy" in options:
            options["strategy"] = _strategy(options["strategy"])
        if options.get("prompt_tokens") is not None:
            options["prompt_tokens"] = tuple(int(t) for t in options["prompt_tokens"])
        return replace(self, **options)


def _strategy(value: SamplingStrategy | str | int) -> SamplingStrategy:
    if isinstance(value, str):
        return SamplingStrategy[value.upper()]
    return SamplingStrategy(value)


FIELD_NAMES = frozenset(f.name for f in fields(FullParams))
