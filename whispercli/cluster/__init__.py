"""Transcribe many inputs on a Dask cluster: one model per worker, outputs written by the client.

The core does not depend on Dask: this package imports ``distributed`` only when a cluster is
opened (the ``cluster`` extra).  The unit of work is the library's :func:`whispercli.job.run_job`
run on a worker without writing; the client writes each :class:`whispercli.job.JobResult` with
:func:`whispercli.job.write_outputs`, so the files are the bytes a local run writes.

Faults: a worker that dies mid-task has its task rescheduled on another worker by the Dask
scheduler, up to its ``distributed.scheduler.allowed-failures`` (3 by default); after that the
input fails with a :class:`ClusterError` and the rest go on.  An input's own error (undecodable
audio, ...) comes back as a value and is not retried.  Closing the iterator (Ctrl-C) cancels
every task still queued or running.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import warnings
from typing import Iterable, Iterator

from ..errors import ClusterError, ModelError, WhisperCliError
from .records import ModelSpec, TaskInput

__all__ = ["ModelSpec", "TaskInput", "open_cluster", "run_on_cluster", "parse_local"]

_LOCAL = re.compile(r"local(?::(\d+))?")


def parse_local(address: str) -> int | None:
    """``local:N`` → N worker processes (``local`` alone: one per CPU); anything else → None."""
    match = _LOCAL.fullmatch(address.strip())
    if not match:
        return None
    n_workers = int(match[1]) if match[1] else (os.cpu_count() or 1)
    if n_workers < 1:
        raise ClusterError(f"--cluster {address!r}: at least one worker is needed")
    return n_workers


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError("--cluster needs Dask: pip install 'whispercli[cluster]'") from None
    return distributed


@contextlib.contextmanager
def open_cluster(address: str, *, quiet: bool = True):
    """A connected ``distributed.Client``: to the scheduler at ``address`` (``tcp://HOST:8786``,
    ``tls://...`` with Dask's security config), or to a cluster of N local worker processes
    for ``local:N`` that listens on 127.0.0.1 only and is shut down on exit."""
    distributed = _distributed()
    if quiet:  # the client's terminal shows our progress and errors, not Dask's log
        for name in ("distributed", "tornado"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    n_workers = parse_local(address)
    with contextlib.ExitStack() as stack:
        try:
            if n_workers is not None:
                cluster = stack.enter_context(distributed.LocalCluster(
                    n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                    dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR if quiet else logging.WARNING))
                client = stack.enter_context(distributed.Client(cluster))
            else:
                client = stack.enter_context(distributed.Client(address, timeout="10s"))
        except (OSError, TimeoutError, ValueError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address!r}: {exc}") from None
        yield client


def run_on_cluster(client, spec: ModelSpec, tasks: Iterable[TaskInput], *, retries: int = 2,
                   window: int | None = None) -> Iterator[tuple[int, object]]:
    """Run every task; yield ``(index, JobResult | WhisperCliError)`` as each finishes.

    Local files are read here and shipped to the workers inside their tasks (at most ``window`` at a time, so the
    client never holds the whole batch in memory); shared inputs are passed as paths or URLs.
    A :class:`ModelError` (the model cannot be loaded on a worker) applies to every input: it
    is raised once and the rest is cancelled.  ``retries`` bounds re-runs of a task that raised
    an unexpected exception.
    """
    distributed = _distributed()
    from .worker import ModelPlugin, transcribe_task

    tasks = list(tasks)
    if not tasks:
        return
    client.register_plugin(ModelPlugin(spec), name="whispercli-model")
    n_threads = sum(client.nthreads().values()) or 1
    window = window or max(4, 2 * n_threads)
    pending = iter(enumerate(tasks))
    live: dict = {}  # key -> (index, future) submitted and not yet yielded
    failed: list[tuple[int, WhisperCliError]] = []  # inputs that failed before reaching a worker
    running = distributed.as_completed()

    def submit_next() -> bool:
        item = next(pending, None)
        if item is None:
            return False
        index, task = item
        try:
            data = None if task.shared else _read_local(task.source)
        except WhisperCliError as exc:
            failed.append((index, exc))
            return True
        # The bytes travel inside the task, not scattered: data scattered to a worker dies with it,
        # and the task could not be rerun elsewhere.  The window bounds what the scheduler holds.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
            future = client.submit(transcribe_task, task, data, key=f"whispercli-{index}-{os.urandom(4).hex()}",
                                   retries=retries, pure=False)
        live[future.key] = (index, future)
        running.add(future)
        return True

    try:
        for _ in range(window):
            if not submit_next():
                break
        while failed or running.count():
            while failed:
                yield failed.pop()
            if not running.count():
                if submit_next():
                    continue
                break
            future = next(running)
            index, _ = live.pop(future.key)
            submit_next()  # keep the workers fed while the client writes this result
            yield index, _outcome(future, tasks[index], distributed)
    finally:
        if live:  # Ctrl-C or an error: nothing keeps running on the cluster for us
            client.cancel([future for _, future in live.values()], force=True)


def _outcome(future, task: TaskInput, distributed):
    try:
        value = future.result()
    except distributed.KilledWorker:
        return ClusterError(f"{task.name}: the workers running it died on every try")
    except Exception as exc:  # a bug or a broken worker: this input fails, the others go on
        return ClusterError(f"{task.name}: failed on the cluster: {type(exc).__name__}: {exc}")
    if isinstance(value, ModelError):
        raise value
    return value


def _read_local(path: str) -> bytes:
    from ..errors import AudioError

    try:
        with open(path, "rb") as fp:
            return fp.read()
    except OSError as exc:
        raise AudioError(f"cannot read {path!r}: {exc.strerror or exc}") from None
