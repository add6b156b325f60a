"""Transcription and language detection on a loaded :class:`~whispercli.model.Model`.

The native call runs on a worker thread while the calling thread waits in short,
interruptible slices.  That is what makes Ctrl-C (and an ``abort`` predicate) stop
the C computation promptly: the caller sets a flag that ggml checks between graph
nodes, so no Python runs on the hot path.  User callbacks still run on the
calling thread, in order.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from dataclasses import replace
from typing import Callable

import numpy as np

from . import _native
from .constants import SAMPLE_RATE
from .errors import AudioError, ModelError, NativeError, TranscriptionAborted, UsageError
from .params import FullParams
from .types import LanguageGuess, Segment, Timings, Transcript

_POLL_S = 0.05

AudioInput = "np.ndarray | str | os.PathLike"


def as_samples(audio, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Validate (or load) audio as float32 mono samples at 16 kHz."""
    if isinstance(audio, (str, os.PathLike)):
        from .audio import load_audio

        return load_audio(audio)
    if not isinstance(audio, np.ndarray):
        raise AudioError(f"audio must be a numpy array or a path, not {type(audio).__name__}")
    if sample_rate != SAMPLE_RATE:
        raise AudioError(f"audio must be sampled at {SAMPLE_RATE} Hz, got {sample_rate} Hz (use whispercli.load_audio)")
    if audio.dtype != np.float32:
        raise AudioError(f"audio must be float32 samples in [-1, 1], got {audio.dtype} (use whispercli.load_audio)")
    if audio.ndim != 1:
        raise AudioError(f"audio must be mono (1-D), got shape {audio.shape}")
    if audio.size == 0:
        raise AudioError("audio is empty")
    return np.ascontiguousarray(audio)


def _resolve_params(model, params: FullParams | None, options: dict) -> FullParams:
    base = params if params is not None else FullParams()
    try:
        p = base.with_options(**options)
    except (TypeError, KeyError, ValueError) as exc:
        raise UsageError(str(exc)) from None
    lang = p.language
    if lang not in (None, "", "auto") and _native.lang_id(lang) < 0:
        raise UsageError(f"unknown language {lang!r}")
    if p.vad:
        # libwhisper trusts the VAD file (and a NULL path crashes it): resolve and check it here too
        from .vad import resolve_vad_model

        p = p.with_options(vad_model_path=str(resolve_vad_model(p.vad_model_path or "")))
    if not model.is_multilingual and (p.translate or lang not in ("en", "english")):
        # whisper-cli forces English and no translation for .en models.
        p = p.with_options(language="en", translate=False)
    if p.vad and p.vad_model_path:
        # libwhisper loads the VAD model inside whisper_full and trusts its sizes, like the main loader.
        from .models.validate import validate_vad_model

        if not os.path.isfile(p.vad_model_path):
            raise UsageError(f"VAD model not found: {p.vad_model_path!r}")
        validate_vad_model(p.vad_model_path)
    return p


def _run_in_worker(call: _native.FullCall, state, samples, abort: Callable[[], bool] | None,
                   deliver: Callable[[], None]) -> int:
    result: dict = {}
    done = threading.Event()

    def work() -> None:
        try:
            result["rc"] = call.run(state, samples)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
            result["exc"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name="whisper_full", daemon=True)
    worker.start()
    try:
        while not done.wait(_POLL_S):
            deliver()
            if abort is not None and abort():
                call.abort()
    except BaseException:
        call.abort()  # Ctrl-C or a failing user callback: stop C, then propagate
        worker.join()
        raise
    deliver()
    if "exc" in result:
        raise result["exc"]
    return result["rc"]


def transcribe(
    model,
    audio,
    params: FullParams | None = None,
    *,
    sample_rate: int = SAMPLE_RATE,
    on_segment: Callable[[Segment], None] | None = None,
    on_progress: Callable[[int], None] | None = None,
    abort: Callable[[], bool] | None = None,
    with_tokens: bool = True,
    **options,
) -> Transcript:
    """Transcribe ``audio`` (float32 16 kHz mono samples, or a path).

    ``params`` gives the full parameter set (default: libwhisper's greedy defaults);
    ``options`` override single fields by name for this call only.  ``on_segment``
    is called with each segment as soon as it is decoded, ``on_progress`` with a
    percent, both on the calling thread.  When ``abort()`` returns true the
    computation stops and the segments decoded so far come back with
    ``aborted=True``.  Ctrl-C raises :class:`TranscriptionAborted` carrying them.
    """
    samples = as_samples(audio, sample_rate)
    p = _resolve_params(model, params, options)
    events: queue.SimpleQueue = queue.SimpleQueue()

    def deliver() -> None:
        while True:
            try:
                kind, payload = events.get_nowait()
            except queue.Empty:
                return
            if kind == "segments":
                for seg in payload:
                    on_segment(seg)
            else:
                on_progress(payload)

    call = _native.FullCall(
        model._ctx,
        p,
        on_new_segments=(lambda segs: events.put(("segments", segs))) if on_segment else None,
        on_progress=(lambda pct: events.put(("progress", pct))) if on_progress else None,
        with_tokens=with_tokens,
    )
    with model._state() as (ctx, state):
        call._ctx = ctx
        t0 = time.perf_counter()
        try:
            rc = _run_in_worker(call, state, samples, abort, deliver)
        except KeyboardInterrupt:
            partial = _collect(ctx, state, p, samples, t0, with_tokens, aborted=True)
            raise TranscriptionAborted("interrupted", partial) from None
        aborted = bool(call.abort_flag[0])
        if rc != 0 and not aborted:
            raise NativeError("whisper_full_with_state", rc, _native.last_error())
        result = _collect(ctx, state, p, samples, t0, with_tokens, aborted)
    if on_segment is not None:
        for seg in result.segments[call.delivered:]:
            on_segment(seg)
    return result


def _collect(ctx, state, p: FullParams, samples, t0: float, with_tokens: bool, aborted: bool) -> Transcript:
    segments = _native.read_segments(ctx, state, 0, _native.n_segments(state), with_tokens)
    lang_id = _native.full_lang_id(state)
    language = _native.lang_code(lang_id) if lang_id >= 0 else (p.language or "")
    return Transcript(
        segments=tuple(segments),
        language=language,
        duration_ms=len(samples) * 1000 // SAMPLE_RATE,
        timings=Timings(total_ms=(time.perf_counter() - t0) * 1000.0, samples=len(samples)),
        translated=p.translate,
        aborted=aborted,
    )


def detect_language(model, audio, *, offset_ms: int = 0, n_threads: int | None = None,
                    sample_rate: int = SAMPLE_RATE, exact: bool = False) -> list[LanguageGuess]:
    """Every language's probability for the 30 s window at ``offset_ms``, sorted.

    ``exact``: whisper.cpp v1.9.1's numerics (as :attr:`FullParams.exact`)."""
    if not model.is_multilingual:
        raise ModelError(
            f"language detection needs a multilingual model; {model.path.name} is English-only"
        )
    samples = as_samples(audio, sample_rate)
    if offset_ms < 0 or offset_ms >= len(samples) * 1000 // SAMPLE_RATE:
        raise UsageError(f"offset {offset_ms} ms is outside the audio ({len(samples) * 1000 // SAMPLE_RATE} ms)")
    threads = n_threads or FullParams().n_threads
    with model._state() as (ctx, state):
        probs = _native.detect_language(ctx, state, samples, offset_ms, threads, exact=exact)
    names = _native.languages()
    guesses = [LanguageGuess(code, name, float(prob)) for (code, name), prob in zip(names, probs)]
    guesses.sort(key=lambda g: g.probability, reverse=True)
    return guesses


def transcribe_parallel(model, audio, params: FullParams, n_processors: int, *,
                        on_segment: Callable[[Segment], None] | None = None,
                        on_progress: Callable[[int], None] | None = None) -> Transcript:
    """whisper-cli's ``-p N``: ``whisper_full_parallel``'s split, on our own states.

    The audio after ``offset_ms`` is cut into N equal chunks decoded at once; the
    later chunks' segment times are shifted back into place and made not to
    overlap, exactly as libwhisper does.  Progress comes from the first chunk
    (as in whisper-cli).  Quality may drop at the cut points.
    """
    samples = as_samples(audio)
    if n_processors <= 1:
        return transcribe(model, samples, params, on_segment=on_segment, on_progress=on_progress)
    offset_samples = SAMPLE_RATE * params.offset_ms // 1000
    per_chunk = (len(samples) - offset_samples) // n_processors
    if per_chunk <= 0:
        raise UsageError(f"{n_processors} processors leave no audio per chunk")
    results: list = [None] * n_processors
    errors: list[BaseException] = []

    def work(i: int) -> None:
        start = offset_samples + i * per_chunk
        end = len(samples) if i == n_processors - 1 else start + per_chunk
        try:
            results[i] = transcribe(model, samples[start:end], params.with_options(offset_ms=0))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(1, n_processors)]
    for w in workers:
        w.start()
    try:
        first = transcribe(model, samples[: offset_samples + per_chunk], params, on_progress=on_progress)
    finally:
        for w in workers:
            w.join()
    if errors:
        raise errors[0]
    segments = list(first.segments)
    offset_ticks = int(params.offset_ms / 10.0)
    for i in range(1, n_processors):
        shift_ticks = 100 * (i * per_chunk) // SAMPLE_RATE + offset_ticks
        for seg in results[i].segments:
            t0 = seg.start_ms // 10 + shift_ticks
            t1 = seg.end_ms // 10 + shift_ticks
            if segments:
                t0 = max(t0, segments[-1].end_ms // 10)
            segments.append(replace(seg, index=len(segments), start_ms=t0 * 10, end_ms=t1 * 10))
    if on_segment is not None:
        for seg in segments:
            on_segment(seg)
    return replace(
        first,
        segments=tuple(segments),
        duration_ms=len(samples) * 1000 // SAMPLE_RATE,
        timings=Timings(total_ms=sum(r.timings.total_ms for r in (first, *results[1:])) / n_processors,
                        samples=len(samples)),
        aborted=any(r.aborted for r in (first, *results[1:])),
    )
