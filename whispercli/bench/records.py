"""The benchmark's typed result records and the fixed shape of whisper-bench's run.

Pure data: nothing here touches libwhisper, so clients (the CLI's formats, a
server's JSON) can import it without the native module.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = [
    "BATCH", "N_BATCHD_CALLS", "N_DECODE", "N_PROMPT_CALLS", "PHASES", "PROMPT", "WHAT_NAMES", "WHISPER_RUNS",
    "AudioBench", "BenchProgress", "BenchReport", "MemcpyRow", "MulMatCell", "PhaseStat", "ProgressCallback",
    "Stat", "SystemInfo", "TextBench", "WhisperBench",
]

#: ``-w`` values, as whisper-bench names them.
WHAT_NAMES = {0: "whisper", 1: "memcpy", 2: "ggml_mul_mat"}

# bench.cpp's measured run.
N_DECODE = 256  # single-token decodes
N_BATCHD_CALLS, BATCH = 64, 5  # 64 x 5-token batched decodes
N_PROMPT_CALLS, PROMPT = 16, 256  # 16 x 256-token prompt decodes
#: libwhisper's run counts for that run (it counts batched and prompt runs per token).
WHISPER_RUNS = {"encode": 1, "decode": N_DECODE, "batchd": N_BATCHD_CALLS * BATCH, "prompt": N_PROMPT_CALLS * PROMPT}

PHASES = ("sample", "encode", "decode", "batchd", "prompt")


@dataclass(frozen=True)
class Stat:
    """One figure over ``n`` repeats."""

    median: float
    min: float
    max: float
    stdev: float  # sample standard deviation; 0.0 for a single run
    values: tuple[float, ...]

    @property
    def n(self) -> int:
        return len(self.values)

    @classmethod
    def of(cls, values: Sequence[float]) -> Stat:
        vals = tuple(float(v) for v in values)
        if not vals:
            raise ValueError("Stat.of needs at least one value")
        return cls(
            median=statistics.median(vals),
            min=min(vals),
            max=max(vals),
            stdev=statistics.stdev(vals) if len(vals) > 1 else 0.0,
            values=vals,
        )


@dataclass(frozen=True)
class SystemInfo:
    cpu: str  # CPU model (/proc/cpuinfo, sysctl, or platform)
    os: str  # e.g. "Debian GNU/Linux 12 (bookworm)"
    machine: str  # e.g. "x86_64"
    logical_cores: int
    physical_cores: int | None  # None when the OS does not say
    backends: dict[str, dict[str, str]]  # from whisper_print_system_info: {"CPU": {"AVX2": "1", ...}, ...}
    features: tuple[str, ...]  # every backend flag that is on ("= 1"), e.g. ("AVX2", "FMA", "OPENMP")
    config: str  # bench-all.sh's Config column, e.g. "AVX2 BLAS"
    system_info: str  # whisper_print_system_info(), verbatim
    whisper_cpp: str  # whisper_version()
    whisper_cpp_build: str  # how the native module was built
    whispercli: str
    python: str


@dataclass(frozen=True)
class WhisperBench:
    """``-w 0``: whisper-bench's figures for one model and thread count.

    ``encode_ms`` ... ``prompt_ms`` are per-run milliseconds (see :data:`WHISPER_RUNS`
    for the run counts); multiply by the run count for the phase total.
    """

    model: str  # display name: "tiny.en" for ggml-tiny.en.bin
    model_path: str
    model_type: str  # libwhisper's: "tiny", "base", ...
    threads: int
    flash_attn: bool
    use_gpu: bool
    exact: bool  # whisper.cpp's own numerics (--exact) rather than the tiled sgemm
    repeat: int
    load_ms: float  # libwhisper's model load time (whisper-bench's "load time")
    encode_ms: Stat
    decode_ms: Stat
    batchd_ms: Stat
    prompt_ms: Stat
    total_ms: Stat  # wall-clock of the measured run (whisper-bench's "total time")
    runs: dict[str, int] = field(default_factory=lambda: dict(WHISPER_RUNS))
    kind: str = "whisper"


@dataclass(frozen=True)
class PhaseStat:
    """One phase of a real transcription: libwhisper's run count and times."""

    runs: Stat
    per_run_ms: Stat
    total_ms: Stat  # per_run_ms x runs


@dataclass(frozen=True)
class AudioBench:
    """``--audio``: real transcriptions of one file for one model and thread count."""

    model: str
    model_path: str
    model_type: str
    threads: int
    flash_attn: bool
    use_gpu: bool
    exact: bool  # whisper.cpp's own numerics (--exact) rather than the tiled sgemm
    repeat: int
    beam_size: int
    best_of: int
    language: str
    audio: str  # file name, or "<samples>"
    audio_ms: float  # duration of the audio
    audio_load_ms: float | None  # decoding + resampling the file (once; None for samples given)
    load_ms: float  # libwhisper's model load time (once)
    mel_ms: Stat | None  # total; None if libwhisper's log could not be read
    sample: PhaseStat | None
    encode: PhaseStat | None
    decode: PhaseStat | None  # single-token decodes
    batchd: PhaseStat | None  # batched decodes (the beams)
    prompt: PhaseStat | None  # prompt decodes
    fallbacks_p: int | None  # temperature fallbacks (last run): p = logprob, h = entropy
    fallbacks_h: int | None
    total_ms: Stat  # wall-clock of whisper_full
    rtf: Stat  # total_ms / audio_ms: < 1 is faster than real time
    text: str  # the transcript of the last run
    kind: str = "audio"


@dataclass(frozen=True)
class MemcpyRow:
    label: str  # "heat-up", "1 thread", "2 thread"
    threads: int | None
    gb_per_s: float


@dataclass(frozen=True)
class MulMatCell:
    n: int  # matrix side
    type: str  # Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, F16, F32
    gflops: float
    runs: int


@dataclass(frozen=True)
class TextBench:
    """``-w 1`` / ``-w 2``: libwhisper's text (whisper-bench's output verbatim), parsed."""

    what: int
    threads: int
    text: str
    rows: tuple  # MemcpyRow for -w 1, MulMatCell for -w 2
    kind: str = "text"


@dataclass(frozen=True)
class BenchReport:
    system: SystemInfo | None  # None when asked not to collect it
    what: int
    results: tuple  # WhisperBench | AudioBench | TextBench, in run order


@dataclass(frozen=True)
class BenchProgress:
    """Progress of :func:`run`: ``completed`` of ``total`` steps.

    ``finished`` carries the result record when a configuration has just ended.
    """

    description: str
    completed: int
    total: int
    finished: object | None = None


ProgressCallback = Callable[[BenchProgress], None]
