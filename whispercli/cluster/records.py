"""The records the cluster client and its workers exchange (pickled by Dask; no Dask import here)."""

from __future__ import annotations

from dataclasses import dataclass

from ..options import TranscribeOptions


@dataclass(frozen=True)
class ModelSpec:
    """The model each worker loads once: a name in the worker's model cache, or a path it can read."""

    model: str | None
    use_gpu: bool = True
    flash_attn: bool = True
    gpu_device: int = 0
    dtw: str | None = None


@dataclass(frozen=True)
class TaskInput:
    """One input as a worker sees it."""

    name: str  # what the outputs call the input (the path as given on the client)
    source: str  # the client's path; for shared inputs, what the worker reads (a path or a URL)
    options: TranscribeOptions
    model_label: str | None  # -m as given: JSON "params.model"
    shared: bool = False  # True: the worker reads ``source`` itself; False: the bytes are shipped
