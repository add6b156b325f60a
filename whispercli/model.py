"""A loaded ggml Whisper model, shared by any number of concurrent transcriptions."""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from . import _native
from .constants import GGML_MAGIC
from .errors import ModelError, ModelNotFoundError, UsageError
from .models.validate import validate_model
from .params import ContextParams


def check_model_file(path: str | os.PathLike) -> Path:
    """Raise a typed error unless ``path`` is a well-formed ggml Whisper model file.

    Every load goes through here (the CLI, the library, the server and cluster workers
    all call :meth:`Model.load`; ``quantize`` and ``bench`` call it directly).
    """
    p = Path(path)
    if not p.exists():
        raise ModelNotFoundError(f"model file not found: {str(p)!r}")
    if p.is_dir():
        raise ModelError(f"model path is a directory, not a ggml file: {str(p)!r}")
    try:
        with open(p, "rb") as fp:
            magic = fp.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model {str(p)!r}: {exc.strerror}") from exc
    if magic != GGML_MAGIC:
        raise ModelError(f"not a ggml Whisper model (bad magic): {str(p)!r}")
    # Before libwhisper reads it: its loader trusts every size in the file.
    validate_model(p)
    return p


class Model:
    """A whisper.cpp context.  Use :meth:`load`; close with :meth:`close` or ``with``.

    Each call gets a fresh ``whisper_state`` (about 12 ms to make), so one Model
    serves several threads at once.  States are not reused: libwhisper carries
    state across calls (a call after a ``duration_ms=3000`` one decodes the same
    audio differently), and results must not depend on what ran before.
    """

    def __init__(self, ctx, path: Path, params: ContextParams) -> None:
        self._ctx = ctx
        self.path = path
        self.params = params
        self.info = _native.model_info(ctx)
        self._lock = threading.Lock()
        self._active = 0
        self._closed = False

    @classmethod
    def load(
        cls,
        path: str | os.PathLike,
        *,
        use_gpu: bool = True,
        flash_attn: bool = True,
        gpu_device: int = 0,
        dtw: str | None = None,
        dtw_n_top: int = -1,
    ) -> Model:
        if not 0 <= gpu_device < (1 << 31):  # libwhisper takes an int32
            raise UsageError(f"GPU device index {gpu_device} is out of range (0 to {(1 << 31) - 1})")
        if not -1 <= dtw_n_top < (1 << 31):
            raise UsageError(f"DTW top-n {dtw_n_top} is out of range (-1 to {(1 << 31) - 1})")
        p = check_model_file(path)
        params = ContextParams(use_gpu=use_gpu, flash_attn=flash_attn, gpu_device=gpu_device, dtw=dtw, dtw_n_top=dtw_n_top)
        return cls(_native.init_context(str(p), params), p, params)

    @property
    def is_multilingual(self) -> bool:
        return self.info["multilingual"]

    @property
    def type(self) -> str:
        return self.info["type"]

    @contextmanager
    def _state(self) -> Iterator[tuple[object, object]]:
        """A fresh whisper_state (and the context) for one call."""
        with self._lock:
            if self._closed:
                raise ModelError(f"model {str(self.path)!r} is closed")
            self._active += 1
        state = None
        try:
            state = _native.init_state(self._ctx)
            yield self._ctx, state
        finally:
            if state is not None:
                _native.free(state)
            with self._lock:
                self._active -= 1
                release = self._closed and self._active == 0
            if release:
                self._release()

    def _release(self) -> None:
        if self._ctx is not None:
            _native.free(self._ctx)
            self._ctx = None

    def close(self) -> None:
        """Free the model.  Idempotent; waits for no one: in-flight calls finish first."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            release = self._active == 0
        if release:
            self._release()

    def __enter__(self) -> Model:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Model({str(self.path)!r}, type={self.type!r}{', closed' if self._closed else ''})"

    def transcribe(self, audio, params=None, **options):
        """Transcribe ``audio``; see :func:`whispercli.transcribe.transcribe`."""
        from .transcribe import transcribe

        return transcribe(self, audio, params, **options)

    def translate(self, audio, params=None, **options):
        """Transcribe ``audio`` into English."""
        return self.transcribe(audio, params, translate=True, **options)

    def detect_language(self, audio, offset_ms: int = 0, n_threads: int | None = None, *, exact: bool = False):
        """Every language's probability for the 30 s window at ``offset_ms``, most likely first."""
        from .transcribe import detect_language

        return detect_language(self, audio, offset_ms=offset_ms, n_threads=n_threads, exact=exact)
