"""The work behind the routes: one loaded model, N workers, a bounded queue, aborts.

Every request runs :func:`whispercli.job.run_job` on a worker thread with a fresh
``whisper_state`` (the library's :class:`~whispercli.model.Model` gives one per call),
so ``--workers N`` transcribes N requests at once on the one model.  Requests beyond
the workers wait in a queue of at most ``--max-queue``; past that they are refused
at once (:class:`Saturated`).  A request that passes its deadline, or whose client
disconnects, sets its abort flag: libwhisper stops at the next check and the worker
is free again.  On SIGTERM/SIGINT (:meth:`Engine.drain`) queued and running requests go
on until the drain deadline; then they are aborted the same way and answered 503
(:class:`ShuttingDown`).  All bookkeeping runs on the event loop's thread, so it needs no locks.
"""

from __future__ import annotations

import asyncio
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from ..constants import SAMPLE_RATE
from ..errors import TranscriptionAborted
from .errors import ClientGone, RequestTimeout, Saturated, ShuttingDown
from .fields import RequestSpec

_POLL_S = 0.1  # how often a waiting request looks at its deadline and its client


@dataclass
class _Loaded:
    model: object  # whispercli.model.Model
    label: str  # as the user named it (-m, or the /load field)
    leases: int = 0  # requests holding it; a replaced model is closed when this reaches 0
    retired: bool = False


@dataclass(frozen=True)
class Served:
    """A finished request: the job's result, plus whisper-server's language probabilities when asked."""

    result: object  # whispercli.job.JobResult
    languages: tuple | None = None  # whispercli.types.LanguageGuess records, most likely first

    @property
    def audio_s(self) -> float:
        return self.result.audio_s


def language_guesses(model, samples, n_threads: int, exact: bool) -> tuple | None:
    """whisper-server's pass for ``verbose_json``: ``whisper_lang_auto_detect`` at offset 0 of the audio.

    None for an English-only model, which has no language to rank (whisper-server ranks
    its untrained language tokens anyway), and for audio shorter than one 10 ms frame.
    """
    if not model.is_multilingual or len(samples) * 1000 // SAMPLE_RATE == 0:
        return None
    return tuple(model.detect_language(samples, offset_ms=0, n_threads=n_threads, exact=exact))


@dataclass(eq=False)
class Job:
    """A request on a worker: ``future`` resolves to a :class:`Served`."""

    future: asyncio.Future
    abort: threading.Event = field(default_factory=threading.Event)
    reason: Exception | None = None  # why we aborted it: RequestTimeout or ClientGone


class Engine:
    def __init__(self, model, label: str, *, workers: int, max_queue: int, metrics) -> None:
        self._current = _Loaded(model, label)
        self.workers = workers
        self.max_queue = max_queue
        self.metrics = metrics
        self._loads = 0  # /load requests in progress
        self._drain_deadline: float | None = None  # set when the server starts shutting down
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whispercli-serve")
        self._slots: asyncio.Semaphore | None = None  # made on the loop that uses it
        self._waiting = 0
        self._running = 0
        self._jobs: set[Job] = set()

    @property
    def draining(self) -> bool:
        return self._drain_deadline is not None

    def drain(self, timeout_s: float) -> None:
        """The server stops: what still waits or runs ``timeout_s`` from now is aborted (503)."""
        self._drain_deadline = time.monotonic() + timeout_s

    def _drain_over(self) -> bool:
        return self._drain_deadline is not None and time.monotonic() >= self._drain_deadline

    @property
    def loading(self) -> bool:
        return self._loads > 0

    @property
    def model(self):
        return self._current.model

    @property
    def model_label(self) -> str:
        return self._current.label

    # ------------------------------------------------------------------ admission and running
    async def submit(self, data: bytes, filename: str, spec: RequestSpec, *, deadline: float,
                     is_disconnected: Callable[[], Awaitable[bool]] | None = None,
                     on_segment: Callable[[object], None] | None = None) -> Job:
        """Wait for a worker (or refuse at once when the queue is full), then start the job.

        A request leaves the queue when its deadline passes (504), its client goes (499) or
        the drain deadline passes (503).
        """
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.workers)
        if self._drain_over():
            self.metrics.rejections.labels("shutting_down").inc()
            raise ShuttingDown()
        if self._running + self._waiting >= self.workers + self.max_queue:
            self.metrics.rejections.labels("queue_full").inc()
            raise Saturated(f"all {self.workers} workers are busy and {self.max_queue} requests are waiting; "
                            "retry later", retry_after_s=1)
        self._waiting += 1
        self.metrics.queue_depth.inc()
        t_queued = time.monotonic()
        # a task polled, never a cancelled wait_for: a slot acquired as the wait gives up must not leak
        acquire = asyncio.ensure_future(self._slots.acquire())
        try:
            while not acquire.done():
                await asyncio.wait({acquire}, timeout=_POLL_S)
                if acquire.done():
                    break
                if time.monotonic() >= deadline:
                    self.metrics.rejections.labels("timeout_in_queue").inc()
                    raise RequestTimeout("the request timed out waiting for a worker")
                if is_disconnected is not None and await is_disconnected():
                    raise ClientGone("the client disconnected while its request waited for a worker")
                if self._drain_over():
                    self.metrics.rejections.labels("shutting_down").inc()
                    raise ShuttingDown()
        except BaseException:
            acquire.cancel()
            if acquire.done() and not acquire.cancelled():
                self._slots.release()
            raise
        finally:
            self._waiting -= 1
            self.metrics.queue_depth.dec()
        self.metrics.queue_wait.observe(time.monotonic() - t_queued)
        loaded = self._current
        loaded.leases += 1
        self._running += 1
        self.metrics.in_flight.inc()
        loop = asyncio.get_running_loop()
        job = Job(future=loop.create_future())
        self._jobs.add(job)
        t_start = time.monotonic()

        def work():
            return self._work(loaded, data, filename, spec, job.abort, on_segment)

        inner = loop.run_in_executor(self._executor, work)

        def finished(f: asyncio.Future) -> None:
            self._running -= 1
            self.metrics.in_flight.dec()
            self.metrics.inference.observe(time.monotonic() - t_start)
            self._slots.release()
            self._unlease(loaded)
            self._jobs.discard(job)
            if f.cancelled():
                job.future.cancel()
            elif f.exception() is not None:
                exc = f.exception()
                job.future.set_exception(job.reason if isinstance(exc, TranscriptionAborted) and job.reason else exc)
            else:
                self.metrics.audio_seconds.inc(f.result().audio_s)
                job.future.set_result(f.result())

        inner.add_done_callback(finished)
        return job

    def _work(self, loaded: _Loaded, data: bytes, filename: str, spec: RequestSpec, abort: threading.Event,
              on_segment):
        from ..job import JobHooks, run_job

        source = io.BytesIO(data)
        source.name = filename  # what a decoding error names
        samples: list = []
        hooks = JobHooks(abort=abort.is_set, on_samples=samples.append,
                         on_segment=(lambda seg, speaker: on_segment(seg)) if on_segment else None)
        result = run_job(loaded.model, source, spec.options, input_name=filename, model_label=loaded.label,
                         hooks=hooks)
        languages = None
        if spec.language_probabilities and not abort.is_set():
            o = spec.options
            languages = language_guesses(loaded.model, samples[0], o.threads, exact=o.exact or o.compat)
        return Served(result, languages)

    async def wait(self, job: Job, *, deadline: float, is_disconnected: Callable[[], Awaitable[bool]],
                   until: Callable[[], bool] | None = None):
        """The job's result; aborts it on the deadline (504) or when the client goes away (499).

        With ``until``, returns None as soon as ``until()`` is true (the job goes on).
        """
        try:
            while True:
                done, _ = await asyncio.wait({job.future}, timeout=_POLL_S)
                if done:
                    return job.future.result()
                if until is not None and until():
                    return None
                if job.reason is None:
                    if time.monotonic() >= deadline:
                        self.stop(job, RequestTimeout("the request took longer than the server's "
                                                      "--request-timeout; the transcription was aborted"))
                    elif self._drain_over():
                        self.stop(job, ShuttingDown())
                    elif await is_disconnected():
                        self.stop(job, ClientGone("the client disconnected; the transcription was aborted"))
        except asyncio.CancelledError:
            self.stop(job, ClientGone("the request was cancelled"))
            raise

    def stop(self, job: Job, reason: Exception) -> None:
        """Abort a running job (no effect once it has finished)."""
        if job.reason is None and not job.future.done():
            job.reason = reason
            job.abort.set()
            self.metrics.aborts.labels(getattr(reason, "code", "other")).inc()

    # ------------------------------------------------------------------ /load
    async def load(self, path, label: str) -> None:
        """Load another model; the old one keeps serving until the new one is ready (and on failure)."""
        from ..model import Model

        self._loads += 1
        try:
            model = await asyncio.get_running_loop().run_in_executor(None, Model.load, path)
        finally:
            self._loads -= 1
        old, self._current = self._current, _Loaded(model, label)
        old.retired = True
        self._unlease(old, release=False)

    def _unlease(self, loaded: _Loaded, release: bool = True) -> None:
        if release:
            loaded.leases -= 1
        if loaded.retired and loaded.leases == 0:
            loaded.model.close()

    def abort_all(self) -> None:
        for job in list(self._jobs):
            job.abort.set()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        self._current.model.close()
