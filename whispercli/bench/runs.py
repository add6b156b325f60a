"""Running the measurements: whisper-bench's ``-w 0`` run, real transcriptions, and sweeps.

Nothing here prints; each configuration ends in a record (:mod:`.records`), and
progress goes to an ``on_progress`` callback.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Sequence

from ..constants import SAMPLE_RATE
from ..errors import UsageError
from .checks import check_positive, check_what, parse_threads
from .host import system_info
from .kernels import bench_memcpy, bench_mul_mat
from .records import (
    BATCH,
    N_BATCHD_CALLS,
    N_DECODE,
    N_PROMPT_CALLS,
    PHASES,
    PROMPT,
    WHAT_NAMES,
    WHISPER_RUNS,
    AudioBench,
    BenchProgress,
    BenchReport,
    PhaseStat,
    ProgressCallback,
    Stat,
    WhisperBench,
)
from .timings import load_ms as read_load_ms
from .timings import read_timings


def model_display_name(path: str | os.PathLike) -> str:
    """``ggml-tiny.en.bin`` -> ``tiny.en`` (bench-all.sh's Model column); other names: the stem."""
    name = Path(path).name
    if name.startswith("ggml-") and name.endswith(".bin"):
        return name[len("ggml-"):-len(".bin")]
    return Path(name).stem or name


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


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


class _Loaded:
    """A model loaded with libwhisper's default state (what whisper-bench measures)."""

    def __init__(self, model: str | os.PathLike, *, flash_attn: bool, use_gpu: bool, exact: bool = False) -> None:
        from .. import _native
        from ..model import check_model_file
        from ..models.registry import resolve_model
        from ..params import ContextParams

        self.path = check_model_file(resolve_model(str(model)))
        self.name = model_display_name(self.path)
        self.flash_attn, self.use_gpu = flash_attn, use_gpu
        self.ctx = _native.init_context_with_state(str(self.path), ContextParams(use_gpu=use_gpu,
                                                                                  flash_attn=flash_attn))
        self.info = _native.model_info(self.ctx)
        self.exact = exact
        _native.set_exact(self.ctx, None, exact)  # the default state that -w 0 and --audio run on
        load_ms = read_load_ms(_native, self.ctx)
        self.load_ms = float("nan") if load_ms is None else load_ms

    def fields(self, threads: int, repeat: int) -> dict:
        """The fields every per-configuration record starts with."""
        return dict(model=self.name, model_path=str(self.path), model_type=self.info["type"], threads=threads,
                    flash_attn=self.flash_attn, use_gpu=self.use_gpu, exact=self.exact, repeat=repeat,
                    load_ms=self.load_ms)

    def close(self) -> None:
        from .. import _native

        _native.free(self.ctx)


# --------------------------------------------------------------------------- -w 0


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


def _bench_whisper(model: _Loaded, *, threads: int, repeat: int, steps: _Steps) -> WhisperBench:
    from .. import _native

    ctx, label = model.ctx, f"{model.name}, {_threads(threads)}"
    _native.bench_set_zero_mel(ctx)
    # Two warm-up rounds, as bench.cpp (the CUDA backend's graph capture needs both).
    for h in range(2):
        steps.start(f"{label}: warm-up {h + 1}/2")
        _whisper_round(_native, ctx, threads, measured=False)
        steps.step()
    phases = [p for p in PHASES if p in WHISPER_RUNS]
    figures: dict[str, list[float]] = {k: [] for k in (*phases, "total")}
    for r in range(repeat):
        steps.start(f"{label}: run {r + 1}/{repeat}")
        _native.reset_timings(ctx)
        t0 = time.perf_counter()
        _whisper_round(_native, ctx, threads, measured=True)
        figures["total"].append((time.perf_counter() - t0) * 1000.0)
        # The run counts are ours (WHISPER_RUNS): the API's per-run figures are all we need.
        t = read_timings(_native, ctx, from_log=False)
        for phase in phases:
            figures[phase].append(t.per_run_ms[phase])
        if r < repeat - 1:
            steps.step()
    result = WhisperBench(
        **model.fields(threads, repeat),
        encode_ms=Stat.of(figures["encode"]),
        decode_ms=Stat.of(figures["decode"]),
        batchd_ms=Stat.of(figures["batchd"]),
        prompt_ms=Stat.of(figures["prompt"]),
        total_ms=Stat.of(figures["total"]),
    )
    steps.step(result)
    return result


def bench_whisper(model: str | os.PathLike, *, threads: int = 4, flash_attn: bool = True, use_gpu: bool = True,
                  exact: bool = False, repeat: int = 1, on_progress: ProgressCallback | None = None) -> WhisperBench:
    """whisper-bench ``-w 0`` for one model (a path or a cached model name) and thread count."""
    return run([model], [threads], what=0, flash_attn=flash_attn, use_gpu=use_gpu, exact=exact, repeat=repeat,
               on_progress=on_progress, with_system=False).results[0]


# --------------------------------------------------------------------------- --audio


def _phase(per_run: list[float], runs: list[int]) -> PhaseStat:
    return PhaseStat(runs=Stat.of(runs), per_run_ms=Stat.of(per_run),
                     total_ms=Stat.of([p * n for p, n in zip(per_run, runs)]))


def _bench_audio(model: _Loaded, samples, options, *, audio_name: str, audio_load_ms: float | None,
                 threads: int, repeat: int, warmup: int, steps: _Steps) -> AudioBench:
    """Real transcriptions; ``options`` is a validated :class:`~whispercli.options.TranscribeOptions`."""
    from .. import _native
    from ..options import for_model, to_full_params

    ctx, label = model.ctx, f"{model.name}, {_threads(threads)}"
    options, _warnings = for_model(options.replace(threads=threads, exact=model.exact),
                                   multilingual=model.info["multilingual"])
    params = to_full_params(options)
    audio_ms = len(samples) * 1000.0 / SAMPLE_RATE
    for w in range(warmup):
        steps.start(f"{label}: warm-up {w + 1}/{warmup}")
        _native.bench_full(ctx, params, samples)
        steps.step()
    wall: list[float] = []
    timings = []
    texts: list[str] = []
    for r in range(repeat):
        steps.start(f"{label}: {audio_name} {r + 1}/{repeat}")
        _native.reset_timings(ctx)
        t0 = time.perf_counter()
        texts = _native.bench_full(ctx, params, samples)
        wall.append((time.perf_counter() - t0) * 1000.0)
        timings.append(read_timings(_native, ctx))
        if r < repeat - 1:
            steps.step()
    # Run counts and the mel time come from libwhisper's log (see .timings): all or nothing.
    complete = all(t.runs is not None and t.mel_ms is not None for t in timings)

    def phase(p: str) -> PhaseStat | None:
        return _phase([t.per_run_ms[p] for t in timings], [t.runs[p] for t in timings]) if complete else None

    fallbacks = next((t.fallbacks for t in reversed(timings) if t.fallbacks is not None), None)
    result = AudioBench(
        **model.fields(threads, repeat),
        beam_size=options.beam_size,
        best_of=options.best_of,
        language=params.language or "auto",
        audio=audio_name,
        audio_ms=audio_ms,
        audio_load_ms=audio_load_ms,
        mel_ms=Stat.of([t.mel_ms for t in timings]) if complete else None,
        sample=phase("sample"),
        encode=phase("encode"),
        decode=phase("decode"),
        batchd=phase("batchd"),
        prompt=phase("prompt"),
        fallbacks_p=fallbacks[0] if fallbacks else None,
        fallbacks_h=fallbacks[1] if fallbacks else None,
        total_ms=Stat.of(wall),
        rtf=Stat.of([w / audio_ms for w in wall]),
        text="".join(texts).strip(),
    )
    steps.step(result)
    return result


def bench_audio(model: str | os.PathLike, audio, *, threads: int = 4, beam_size: int = 5, best_of: int = 5,
                language: str = "en", flash_attn: bool = True, use_gpu: bool = True, exact: bool = False,
                repeat: int = 1, warmup: int = 0, on_progress: ProgressCallback | None = None) -> AudioBench:
    """Real transcriptions of ``audio`` (a path in any format, or 16 kHz float32 samples)."""
    return run([model], [threads], audio=audio, beam_size=beam_size, best_of=best_of, language=language,
               flash_attn=flash_attn, use_gpu=use_gpu, exact=exact, repeat=repeat, warmup=warmup,
               on_progress=on_progress, with_system=False).results[0]


def _prepare_audio(audio):
    from ..transcribe import as_samples

    if isinstance(audio, (str, os.PathLike)):
        t0 = time.perf_counter()
        samples = as_samples(audio)
        return samples, Path(audio).name if str(audio) != "-" else "<stdin>", (time.perf_counter() - t0) * 1000.0
    return as_samples(audio), "<samples>", None


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
    exact: bool = False,
    on_progress: ProgressCallback | None = None,
    with_system: bool = True,
) -> BenchReport:
    """Every model x every thread count (models are loaded once each, in order).

    ``what`` is whisper-bench's ``-w``; ``audio`` (``what=0`` only) switches to real
    transcriptions with whisper-cli's options for ``beam_size``, ``best_of`` and
    ``language`` (defaults otherwise).  ``warmup`` untimed transcriptions precede the
    measured ones (audio only; ``what=0`` always warms up twice, as whisper-bench).
    ``exact``: whisper.cpp v1.9.1's own numerics rather than the tiled sgemm (patch 0007).
    Models are resolved and checked before anything runs, so a bad one fails fast.
    """
    check_what(what)
    check_positive("repeat", repeat)
    check_positive("beam size", beam_size)
    check_positive("best-of", best_of)
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
    from ..model import check_model_file
    from ..models.registry import resolve_model
    from ..options import TranscribeOptions, validate

    paths = [check_model_file(resolve_model(str(m))) for m in models]
    samples = audio_name = audio_load_ms = options = None
    if audio is not None:
        options = validate(TranscribeOptions(language=language or "auto", beam_size=beam_size, best_of=best_of))
        samples, audio_name, audio_load_ms = _prepare_audio(audio)
    per_config = (warmup + repeat) if audio is not None else (2 + repeat)
    steps = _Steps(len(paths) * len(threads) * per_config, on_progress)
    results = []
    for path in paths:
        steps.start(f"{model_display_name(path)}: loading")
        model = _Loaded(path, flash_attn=flash_attn, use_gpu=use_gpu, exact=exact)
        try:
            for n in threads:
                if audio is None:
                    results.append(_bench_whisper(model, threads=n, repeat=repeat, steps=steps))
                else:
                    results.append(_bench_audio(model, samples, options, audio_name=audio_name,
                                                audio_load_ms=audio_load_ms, threads=n, repeat=repeat,
                                                warmup=warmup, steps=steps))
        finally:
            model.close()
    return BenchReport(system, what, tuple(results))
