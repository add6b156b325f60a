"""Benchmarks: whisper.cpp's ``whisper-bench`` measurements, plus real transcriptions.

Nothing here prints.  Every function returns frozen records; progress, when wanted,
goes to an ``on_progress`` callback (:class:`BenchProgress`).

Three kinds of measurement:

``what=0`` (:func:`bench_whisper`)
    ``whisper_bench_full`` of ``examples/bench/bench.cpp`` step for step: a context
    with its default state, the mel set to zeros, two warm-up rounds (encode, a
    256-token prompt, 256 single-token decodes, a 5-token batch), reset timings, then
    the measured run: 1 encode, 256 single-token decodes, 64 five-token batched
    decodes and 16 prompt decodes of 256 tokens.  The figures are libwhisper's
    **per-run** milliseconds (``whisper_get_timings``) where libwhisper counts a
    run per token: encode 1 run, decode 256, batchd 320, prompt 4096 -- the
    numbers whisper-bench prints as "ms per run" and bench-all.sh puts in its
    Enc./Dec./Bch5/PP columns.
``what=1`` / ``what=2`` (:func:`bench_memcpy`, :func:`bench_mul_mat`)
    libwhisper's own memcpy and ggml mul_mat benchmarks; the text is whisper-bench's
    output byte for byte, with the figures parsed out.
``audio=`` (:func:`bench_audio`)
    Real ``whisper_full`` transcriptions of an audio file with whisper-cli's
    parameters (beam search, beam size 5).  Per phase it reports libwhisper's run
    count, per-run milliseconds and **total** milliseconds (per-run x runs), plus
    the mel time (a total), the wall-clock time of the whole call and the real-time
    factor (wall-clock / audio duration).

``repeat`` > 1 repeats the measured part (not the model load or the warm-up) and
every figure becomes a :class:`Stat`: median, min, max, standard deviation.
"""

from __future__ import annotations

import logging
import os
import platform
import re
import statistics
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from ._version import __version__
from .constants import SAMPLE_RATE
from .errors import UsageError

#: ``-w`` values, as whisper-bench names them.
WHAT_NAMES = {0: "whisper", 1: "memcpy", 2: "ggml_mul_mat"}

# bench.cpp's measured run.
N_DECODE = 256  # single-token decodes
N_BATCHD_CALLS, BATCH = 64, 5  # 64 x 5-token batched decodes
N_PROMPT_CALLS, PROMPT = 16, 256  # 16 x 256-token prompt decodes
#: libwhisper's run counts for that run (it counts batched and prompt runs per token).
WHISPER_RUNS = {"encode": 1, "decode": N_DECODE, "batchd": N_BATCHD_CALLS * BATCH, "prompt": N_PROMPT_CALLS * PROMPT}

PHASES = ("sample", "encode", "decode", "batchd", "prompt")


# --------------------------------------------------------------------------- records


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


# --------------------------------------------------------------------------- system info

_SYSINFO_ITEM = re.compile(r"^\s*(?:(?P<backend>[^:|=]+?)\s*:\s*)?(?P<key>[^:|=]+?)\s*=\s*(?P<value>\S+)\s*$")


def parse_system_info(text: str) -> dict[str, dict[str, str]]:
    """``"WHISPER : COREML = 0 | CPU : AVX2 = 1 | ..."`` -> ``{"WHISPER": {...}, "CPU": {...}}``."""
    out: dict[str, dict[str, str]] = {}
    backend = ""
    for item in text.split("|"):
        m = _SYSINFO_ITEM.match(item)
        if not m:
            continue
        if m.group("backend"):
            backend = m.group("backend").strip()
        out.setdefault(backend, {})[m.group("key").strip()] = m.group("value")
    return out


def bench_config(system_info: str) -> str:
    """bench-all.sh's Config column, by its own substring tests."""
    config = []
    for name, needles in (
        ("AVX2", ("AVX2 = 1",)),
        ("NEON", ("NEON = 1",)),
        ("BLAS", ("BLAS = 1",)),
        ("COREML", ("COREML = 1",)),
        ("CUDA", ("CUDA = 1", "CUDA : ARCHS")),
        ("MTL", ("MTL = 1", "MTL : EMBED_LIBRARY = 1")),
    ):
        if any(n in system_info for n in needles):
            config.append(name)
    return " ".join(config)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fp:
            info = fp.read()
    except OSError:
        info = ""
    for key in ("model name", "Hardware", "Model", "cpu model", "Processor", "cpu"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", info, re.MULTILINE)
        if m and m.group(1).strip():
            return m.group(1).strip()
    if platform.system() == "Darwin":
        import subprocess

        try:
            out = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                 timeout=5).stdout.strip()
            if out:
                return out
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _physical_cores() -> int | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fp:
            info = fp.read()
    except OSError:
        return None
    cores = set()
    for block in info.split("\n\n"):
        phys = re.search(r"^physical id\s*:\s*(\d+)", block, re.MULTILINE)
        core = re.search(r"^core id\s*:\s*(\d+)", block, re.MULTILINE)
        if phys and core:
            cores.add((phys.group(1), core.group(1)))
    return len(cores) or None


def _os_name() -> str:
    system = platform.system()
    if system == "Linux":
        try:
            with open("/etc/os-release", encoding="utf-8") as fp:
                m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', fp.read(), re.MULTILINE)
            if m and m.group(1):
                return m.group(1)
        except OSError:
            pass
    if system == "Darwin":
        return f"macOS {platform.mac_ver()[0]}".strip()
    return f"{system} {platform.release()}".strip() or "unknown"


def system_info() -> SystemInfo:
    """The machine and the build: what a benchmark result needs to be comparable."""
    from . import _native

    raw = _native.system_info().strip()
    backends = parse_system_info(raw)
    features = tuple(key for flags in backends.values() for key, value in flags.items() if value == "1")
    return SystemInfo(
        cpu=_cpu_model(),
        os=_os_name(),
        machine=platform.machine(),
        logical_cores=os.cpu_count() or 1,
        physical_cores=_physical_cores(),
        backends=backends,
        features=features,
        config=bench_config(raw),
        system_info=raw,
        whisper_cpp=_native.version(),
        whisper_cpp_build=_native.build_info(),
        whispercli=__version__,
        python=platform.python_version(),
    )


# --------------------------------------------------------------------------- libwhisper's timing block

_TIMING_LINE = re.compile(
    r"whisper_print_timings:\s+(?P<name>\w+) time =\s*(?P<total>[-\d.]+) ms"
    r"(?: /\s*(?P<runs>\d+) runs \(\s*(?P<per_run>[-\d.]+) ms per run\))?"
)
_FALLBACK_LINE = re.compile(r"whisper_print_timings:\s+fallbacks =\s*(?P<p>\d+) p /\s*(?P<h>\d+) h")


def parse_timings(lines: Sequence[str]) -> dict:
    """``whisper_print_timings``'s block -> ``{"load": {"total": ms}, "encode": {"total", "runs", "per_run"}, ...}``.

    Also parses whisper-bench's stderr (the same lines); ``"fallbacks"`` is ``(p, h)``.
    """
    out: dict = {}
    for line in lines:
        m = _TIMING_LINE.search(line)
        if m:
            entry = {"total": float(m.group("total"))}
            if m.group("runs") is not None:
                entry["runs"] = int(m.group("runs"))
                entry["per_run"] = float(m.group("per_run"))
            out[m.group("name")] = entry
            continue
        m = _FALLBACK_LINE.search(line)
        if m:
            out["fallbacks"] = (int(m.group("p")), int(m.group("h")))
    return out


@contextmanager
def _capture_whisper_log() -> Iterator[list[str]]:
    """Collect this thread's whisper.cpp log lines (logger ``whispercli.whisper``).

    The run counts, the mel time and the fallbacks exist only in
    ``whisper_print_timings``'s log block (``whisper_get_timings`` has per-run
    figures only).  When nobody listens to INFO the block is captured without
    reaching other handlers; with ``-v`` it is shown as well, as whisper-bench does.
    """
    logger = logging.getLogger("whispercli.whisper")
    lines: list[str] = []
    me = threading.get_ident()

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == me:
                lines.append(record.getMessage())

    handler = _Collect(logging.DEBUG)
    old_level, old_propagate = logger.level, logger.propagate
    quiet = not logger.isEnabledFor(logging.INFO)
    logger.addHandler(handler)
    if quiet:
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        if quiet:
            logger.setLevel(old_level)
            logger.propagate = old_propagate


# Captures change the logger's level/propagation: one at a time (print_timings takes microseconds).
_capture_lock = threading.Lock()


def _timing_block(native, ctx) -> dict:
    with _capture_lock, _capture_whisper_log() as lines:
        native.print_timings(ctx)
    return parse_timings(lines)


# --------------------------------------------------------------------------- helpers


def model_display_name(path: str | os.PathLike) -> str:
    """``ggml-tiny.en.bin`` -> ``tiny.en`` (bench-all.sh's Model column); other names: the stem."""
    name = Path(path).name
    if name.startswith("ggml-") and name.endswith(".bin"):
        return name[len("ggml-"):-len(".bin")]
    return Path(name).stem or name


def _run_fields(name: str, path: Path, info: dict, threads: int, flash_attn: bool, use_gpu: bool,
                repeat: int) -> dict:
    """The fields every per-configuration record starts with."""
    return dict(model=name, model_path=str(path), model_type=info["type"], threads=threads,
                flash_attn=flash_attn, use_gpu=use_gpu, repeat=repeat)


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def parse_threads(values: Sequence[str | int]) -> tuple[int, ...]:
    """``["1,2", "4"]`` -> ``(1, 2, 4)``; raises :class:`UsageError` on anything else."""
    out: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            try:
                n = int(part)
            except ValueError:
                raise UsageError(f"bad thread count {part!r} in {str(value)!r} (expected e.g. 4 or 1,2,4)") from None
            if n < 1:
                raise UsageError(f"thread count must be at least 1, got {n}")
            if n not in out:
                out.append(n)
    if not out:
        raise UsageError("no thread count given")
    return tuple(out)


def check_what(what: int) -> None:
    """Raise :class:`UsageError` unless ``what`` is one of whisper-bench's ``-w`` values."""
    if what not in WHAT_NAMES:
        raise UsageError(f"unknown benchmark: {what} (-w 0 = whisper, 1 = memcpy, 2 = ggml_mul_mat)")


def _check_positive(name: str, value: int) -> None:
    if value < 1:
        raise UsageError(f"{name} must be at least 1, got {value}")


class _Steps:
    """Counts steps and forwards :class:`BenchProgress` to the callback."""

    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total, self.done, self.callback = total, 0, callback
        self.description = ""

    def start(self, description: str) -> None:
        self.description = description
        if self.callback is not None:
            self.callback(BenchProgress(description, self.done, self.total))

    def step(self, finished: object | None = None) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(BenchProgress(self.description, self.done, self.total, finished))


# --------------------------------------------------------------------------- -w 0


def _load(model: str | os.PathLike, *, flash_attn: bool, use_gpu: bool):
    from . import _native
    from .model import check_model_file
    from .models.registry import resolve_model
    from .params import ContextParams

    path = check_model_file(resolve_model(str(model)))
    ctx = _native.init_context_with_state(str(path), ContextParams(use_gpu=use_gpu, flash_attn=flash_attn))
    return ctx, path, _native.model_info(ctx)


def _whisper_round(native, ctx, threads: int, measured: bool) -> None:
    """One of bench.cpp's rounds: the warm-up (``measured=False``) or the measured run."""
    native.bench_encode(ctx, threads)
    if not measured:
        native.bench_decode(ctx, PROMPT, 0, threads)  # prompt heat
    for i in range(N_DECODE):  # text generation
        native.bench_decode(ctx, 1, i, threads)
    if not measured:
        native.bench_decode(ctx, BATCH, 0, threads)  # batched heat
        return
    for _ in range(N_BATCHD_CALLS):  # batched decoding
        native.bench_decode(ctx, BATCH, 0, threads)
    for _ in range(N_PROMPT_CALLS):  # prompt processing
        native.bench_decode(ctx, PROMPT, 0, threads)


def _bench_whisper_ctx(ctx, path: Path, info: dict, *, threads: int, flash_attn: bool, use_gpu: bool,
                       repeat: int, steps: _Steps) -> WhisperBench:
    from . import _native

    name = model_display_name(path)
    _native.bench_set_zero_mel(ctx)
    # Two warm-up rounds, as bench.cpp (the CUDA backend's graph capture needs both).
    for h in range(2):
        steps.start(f"{name}, {_threads(threads)}: warm-up {h + 1}/2")
        _whisper_round(_native, ctx, threads, measured=False)
        steps.step()
    figures: dict[str, list[float]] = {k: [] for k in ("encode", "decode", "batchd", "prompt", "total")}
    load_ms = 0.0
    for r in range(repeat):
        steps.start(f"{name}, {_threads(threads)}: run {r + 1}/{repeat}")
        _native.reset_timings(ctx)
        t0 = time.perf_counter()
        _whisper_round(_native, ctx, threads, measured=True)
        figures["total"].append((time.perf_counter() - t0) * 1000.0)
        t = _native.timings(ctx)
        for phase in ("encode", "decode", "batchd", "prompt"):
            figures[phase].append(t[f"{phase}_ms"])
        block = _timing_block(_native, ctx)
        load_ms = block.get("load", {}).get("total", load_ms)
        if r < repeat - 1:
            steps.step()
    result = WhisperBench(
        **_run_fields(name, path, info, threads, flash_attn, use_gpu, repeat),
        load_ms=load_ms,
        encode_ms=Stat.of(figures["encode"]),
        decode_ms=Stat.of(figures["decode"]),
        batchd_ms=Stat.of(figures["batchd"]),
        prompt_ms=Stat.of(figures["prompt"]),
        total_ms=Stat.of(figures["total"]),
    )
    steps.step(result)
    return result


def bench_whisper(model: str | os.PathLike, *, threads: int = 4, flash_attn: bool = True, use_gpu: bool = True,
                  repeat: int = 1, on_progress: ProgressCallback | None = None) -> WhisperBench:
    """whisper-bench ``-w 0`` for one model (a path or a cached model name) and thread count."""
    return run([model], [threads], what=0, flash_attn=flash_attn, use_gpu=use_gpu, repeat=repeat,
               on_progress=on_progress, with_system=False).results[0]


# --------------------------------------------------------------------------- --audio


def _audio_params(info: dict, *, threads: int, beam_size: int, best_of: int, language: str):
    """whisper-cli's ``wparams`` for a plain transcription (its defaults otherwise)."""
    from .params import FullParams, SamplingStrategy

    if not info["multilingual"]:
        language = "en"  # whisper-cli forces English for .en models
    return FullParams(
        strategy=SamplingStrategy.BEAM_SEARCH if beam_size > 1 else SamplingStrategy.GREEDY,
        n_threads=threads,
        print_progress=False,
        print_realtime=False,
        print_timestamps=True,
        language=language or "auto",
        best_of=best_of,
        beam_size=beam_size,
        initial_prompt="",
    )


def _phase(per_run: list[float], runs: list[int]) -> PhaseStat:
    return PhaseStat(runs=Stat.of(runs), per_run_ms=Stat.of(per_run),
                     total_ms=Stat.of([p * n for p, n in zip(per_run, runs)]))


def _bench_audio_ctx(ctx, path: Path, info: dict, samples, *, audio_name: str, audio_load_ms: float | None,
                     threads: int, flash_attn: bool, use_gpu: bool, repeat: int, warmup: int, beam_size: int,
                     best_of: int, language: str, steps: _Steps) -> AudioBench:
    from . import _native

    name = model_display_name(path)
    params = _audio_params(info, threads=threads, beam_size=beam_size, best_of=best_of, language=language)
    audio_ms = len(samples) * 1000.0 / SAMPLE_RATE
    for w in range(warmup):
        steps.start(f"{name}, {_threads(threads)}: warm-up {w + 1}/{warmup}")
        _native.bench_full(ctx, params, samples)
        steps.step()
    wall: list[float] = []
    per_run: dict[str, list[float]] = {p: [] for p in PHASES}
    runs: dict[str, list[int]] = {p: [] for p in PHASES}
    mel: list[float] = []
    load_ms = None
    fallbacks: tuple[int, int] | None = None
    texts: list[str] = []
    complete = True  # every run's timing block was read
    for r in range(repeat):
        steps.start(f"{name}, {_threads(threads)}: {audio_name} {r + 1}/{repeat}")
        _native.reset_timings(ctx)
        t0 = time.perf_counter()
        texts = _native.bench_full(ctx, params, samples)
        wall.append((time.perf_counter() - t0) * 1000.0)
        t = _native.timings(ctx)
        block = _timing_block(_native, ctx)
        for p in PHASES:
            per_run[p].append(t[f"{p}_ms"])
            if p in block and "runs" in block[p]:
                # libwhisper prints max(1, n) runs: a phase that never ran shows "1 run, 0.00 ms".
                runs[p].append(block[p]["runs"] if block[p]["total"] > 0.0 else 0)
            else:
                complete = False
        if "mel" in block:
            mel.append(block["mel"]["total"])
        else:
            complete = False
        load_ms = block.get("load", {}).get("total", load_ms)
        fallbacks = block.get("fallbacks", fallbacks)
        if r < repeat - 1:
            steps.step()
    result = AudioBench(
        **_run_fields(name, path, info, threads, flash_attn, use_gpu, repeat),
        beam_size=beam_size,
        best_of=best_of,
        language=params.language or "auto",
        audio=audio_name,
        audio_ms=audio_ms,
        audio_load_ms=audio_load_ms,
        load_ms=load_ms if load_ms is not None else float("nan"),
        mel_ms=Stat.of(mel) if complete else None,
        sample=_phase(per_run["sample"], runs["sample"]) if complete else None,
        encode=_phase(per_run["encode"], runs["encode"]) if complete else None,
        decode=_phase(per_run["decode"], runs["decode"]) if complete else None,
        batchd=_phase(per_run["batchd"], runs["batchd"]) if complete else None,
        prompt=_phase(per_run["prompt"], runs["prompt"]) if complete else None,
        fallbacks_p=fallbacks[0] if fallbacks else None,
        fallbacks_h=fallbacks[1] if fallbacks else None,
        total_ms=Stat.of(wall),
        rtf=Stat.of([w / audio_ms for w in wall]),
        text="".join(texts).strip(),
    )
    steps.step(result)
    return result


def bench_audio(model: str | os.PathLike, audio, *, threads: int = 4, beam_size: int = 5, best_of: int = 5,
                language: str = "en", flash_attn: bool = True, use_gpu: bool = True, repeat: int = 1,
                warmup: int = 0, on_progress: ProgressCallback | None = None) -> AudioBench:
    """Real transcriptions of ``audio`` (a path in any format, or 16 kHz float32 samples)."""
    return run([model], [threads], audio=audio, beam_size=beam_size, best_of=best_of, language=language,
               flash_attn=flash_attn, use_gpu=use_gpu, repeat=repeat, warmup=warmup,
               on_progress=on_progress, with_system=False).results[0]


# --------------------------------------------------------------------------- -w 1 / -w 2

_MEMCPY_LINE = re.compile(r"^memcpy:\s*(?P<gbs>[-\d.]+) GB/s \((?P<label>[^)]*)\)$")
_MULMAT_LINE = re.compile(r"^\s*(?P<n>\d+) x\s*\d+: (?P<cells>.*)$")
_MULMAT_CELL = re.compile(r"(?P<type>\w+)\s+(?P<gflops>[-\d.]+) GFLOPS \(\s*(?P<runs>\d+) runs\)")


def parse_memcpy(text: str) -> tuple[MemcpyRow, ...]:
    rows = []
    for line in text.splitlines():
        m = _MEMCPY_LINE.match(line.strip())
        if m:
            label = " ".join(m.group("label").split())
            th = re.match(r"(\d+) thread", label)
            rows.append(MemcpyRow(label, int(th.group(1)) if th else None, float(m.group("gbs"))))
    return tuple(rows)


def parse_mul_mat(text: str) -> tuple[MulMatCell, ...]:
    cells = []
    for line in text.splitlines():
        m = _MULMAT_LINE.match(line)
        if m:
            for c in _MULMAT_CELL.finditer(m.group("cells")):
                cells.append(MulMatCell(int(m.group("n")), c.group("type"), float(c.group("gflops")),
                                        int(c.group("runs"))))
    return tuple(cells)


def bench_memcpy(threads: int = 4) -> TextBench:
    """``-w 1``: memcpy bandwidth, 1..threads threads (about 20 s: 1 GB buffers)."""
    from . import _native

    _check_positive("threads", threads)
    text = _native.bench_memcpy_text(threads)
    return TextBench(1, threads, text, parse_memcpy(text))


def bench_mul_mat(threads: int = 4) -> TextBench:
    """``-w 2``: ggml mul_mat GFLOPS for 64..4096 square matrices and 7 types (a minute or more)."""
    from . import _native

    _check_positive("threads", threads)
    text = _native.bench_mul_mat_text(threads)
    return TextBench(2, threads, text, parse_mul_mat(text))


# --------------------------------------------------------------------------- sweeps


def run(
    models: Sequence[str | os.PathLike],
    threads: Sequence[int],
    *,
    what: int = 0,
    audio=None,
    repeat: int = 1,
    warmup: int = 0,
    beam_size: int = 5,
    best_of: int = 5,
    language: str = "en",
    flash_attn: bool = True,
    use_gpu: bool = True,
    on_progress: ProgressCallback | None = None,
    with_system: bool = True,
) -> BenchReport:
    """Every model x every thread count (models are loaded once each, in order).

    ``what`` is whisper-bench's ``-w``; ``audio`` (``what=0`` only) switches to real
    transcriptions.  ``warmup`` untimed transcriptions precede the measured ones
    (audio only; ``what=0`` always warms up twice, as whisper-bench).  Models are
    resolved and checked before anything runs, so a bad one fails fast.
    """
    check_what(what)
    _check_positive("repeat", repeat)
    _check_positive("beam size", beam_size)
    _check_positive("best-of", best_of)
    if warmup < 0:
        raise UsageError(f"warm-up runs cannot be negative, got {warmup}")
    threads = parse_threads(threads)
    if audio is not None and what != 0:
        raise UsageError(f"--audio runs transcriptions; it cannot be combined with -w {what} ({WHAT_NAMES[what]})")
    system = system_info() if with_system else None

    if what in (1, 2):
        steps = _Steps(len(threads), on_progress)
        results = []
        for n in threads:
            steps.start(f"{WHAT_NAMES[what]}, {_threads(n)}")
            result = bench_memcpy(n) if what == 1 else bench_mul_mat(n)
            results.append(result)
            steps.step(result)
        return BenchReport(system, what, tuple(results))

    if not models:
        raise UsageError("no model given")
    from . import _native
    from .model import check_model_file
    from .models.registry import resolve_model

    paths = [check_model_file(resolve_model(str(m))) for m in models]
    samples = audio_name = audio_load_ms = None
    if audio is not None:
        if language not in ("", "auto") and _native.lang_id(language) < 0:
            raise UsageError(f"unknown language {language!r}")
        samples, audio_name, audio_load_ms = _prepare_audio(audio)
    per_config = (warmup + repeat) if audio is not None else (2 + repeat)
    steps = _Steps(len(paths) * len(threads) * per_config, on_progress)
    results = []
    for path in paths:
        steps.start(f"{model_display_name(path)}: loading")
        ctx, path, info = _load(path, flash_attn=flash_attn, use_gpu=use_gpu)
        try:
            for n in threads:
                common = dict(threads=n, flash_attn=flash_attn, use_gpu=use_gpu, repeat=repeat, steps=steps)
                if audio is None:
                    results.append(_bench_whisper_ctx(ctx, path, info, **common))
                else:
                    results.append(_bench_audio_ctx(
                        ctx, path, info, samples, audio_name=audio_name, audio_load_ms=audio_load_ms,
                        warmup=warmup, beam_size=beam_size, best_of=best_of, language=language, **common))
        finally:
            _native.free(ctx)
    return BenchReport(system, what, tuple(results))


def _prepare_audio(audio):
    from .transcribe import as_samples

    if isinstance(audio, (str, os.PathLike)):
        t0 = time.perf_counter()
        samples = as_samples(audio)
        return samples, Path(audio).name if str(audio) != "-" else "<stdin>", (time.perf_counter() - t0) * 1000.0
    return as_samples(audio), "<samples>", None
