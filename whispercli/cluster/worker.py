"""What runs inside a Dask worker: one model per worker process, kept for every task.

Imported on the workers (Dask pickles :func:`transcribe_task` by reference, so every worker
needs whispercli installed) and by the client when it registers :class:`ModelPlugin`.
"""

from __future__ import annotations

import io
import threading

from distributed import WorkerPlugin, get_worker

from ..errors import ModelError, WhisperCliError
from ..job import run_job
from .records import ModelSpec, TaskInput

PLUGIN_NAME = "whispercli-model"


class ModelPlugin(WorkerPlugin):
    """Holds the worker's model.

    The model is loaded by the first task, not in ``setup``: a load that fails then comes back
    as that task's :class:`ModelError` (reported once by the client) instead of a plugin error
    buried in the worker's log.  The model is resolved on the worker: a name from the worker's
    own model cache, or a path the worker can read.
    """

    name = PLUGIN_NAME

    def __init__(self, spec: ModelSpec) -> None:
        self.spec = spec
        self._model = None
        self._error: ModelError | None = None
        self._lock: threading.Lock | None = None  # made on the worker: locks do not pickle

    def setup(self, worker) -> None:
        self._lock = threading.Lock()

    def model(self):
        with self._lock:
            if self._model is None and self._error is None:
                from ..model import Model
                from ..models.registry import resolve_model

                try:
                    path = resolve_model(self.spec.model)
                    self._model = Model.load(path, use_gpu=self.spec.use_gpu, flash_attn=self.spec.flash_attn,
                                             gpu_device=self.spec.gpu_device, dtw=self.spec.dtw)
                except ModelError as exc:
                    self._error = exc
            if self._error is not None:
                raise self._error
            return self._model

    def teardown(self, worker) -> None:
        if self._model is not None:
            self._model.close()


def transcribe_task(task: TaskInput, data: bytes | None):
    """One input on this worker: the :class:`whispercli.job.JobResult` (nothing written here), or
    the input's deliberate error as a value, so that Dask does not retry what would fail again."""
    plugin = get_worker().plugins[PLUGIN_NAME]
    try:
        model = plugin.model()
        source = _named(data, task.name) if data is not None else _read_shared(task)
        return run_job(model, source, task.options, input_name=task.name, model_label=task.model_label)
    except WhisperCliError as exc:
        return exc


def _named(data: bytes, name: str) -> io.BytesIO:
    """The shipped bytes as a stream that carries the input's name, so errors name the input."""
    stream = io.BytesIO(data)
    stream.name = name
    return stream


def _read_shared(task: TaskInput):
    """A path on storage the workers share is read as is; a URL through fsspec (a dask dependency)."""
    if "://" not in task.source:
        return task.source
    import fsspec

    from ..errors import AudioError

    try:
        with fsspec.open(task.source, "rb") as fp:
            return _named(fp.read(), task.name)
    except (OSError, ValueError, ImportError) as exc:
        raise AudioError(f"cannot read {task.source!r} on worker {get_worker().address}: {exc}") from None
