"""Voice activity detection: where the speech is, with whisper.cpp's Silero VAD.

* :func:`resolve_vad_model` turns a ``-vm`` value into a checked VAD file: a path as
  given, or a model name (``silero-v6.2.0``, the default when no value is given) from
  the model cache, downloaded the way ``whispercli download-model`` does when it is
  missing (885 kB, SHA1-checked; from PyPI's ``silero-vad`` wheel when the hub cannot
  be reached).  :func:`whispercli.options.validate` calls it for ``--vad``, so every
  client (CLI, server, cluster worker) gets the same default.
* :class:`VadModel` / :func:`detect_speech` run libwhisper's VAD on its own and return
  the :class:`SpeechSegment` list that ``--vad`` would transcribe (before the padding
  with ``samples_overlap_s`` that whisper_full adds between segments).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from .errors import ModelNotFoundError, UsageError
from .params import FLT_MAX

#: libwhisper's VAD context default (whisper_vad_default_context_params), as whisper-vad-speech-segments uses
DEFAULT_VAD_THREADS = 4


@dataclass(frozen=True)
class VadOptions:
    """``whisper_vad_params`` with their units in the names; defaults are libwhisper's and whisper-cli's."""

    threshold: float = 0.5  # speech probability above which a frame is speech
    min_speech_duration_ms: int = 250  # shorter speech is dropped
    min_silence_duration_ms: int = 100  # shorter silence does not split a segment
    max_speech_duration_s: float = FLT_MAX  # longer speech is split
    speech_pad_ms: int = 30  # added before and after each segment
    samples_overlap_s: float = 0.1  # what whisper_full keeps after each segment when it joins them

    def check(self) -> VadOptions:
        """Raise :class:`UsageError` naming the option for a value libwhisper cannot use."""
        if not 0.0 <= self.threshold <= 1.0:
            raise UsageError(f"--vad-threshold must be between 0 and 1, not {self.threshold}")
        for flag, value in (("--vad-min-speech-duration-ms", self.min_speech_duration_ms),
                            ("--vad-min-silence-duration-ms", self.min_silence_duration_ms),
                            ("--vad-speech-pad-ms", self.speech_pad_ms),
                            ("--vad-samples-overlap", self.samples_overlap_s)):
            if value < 0:
                raise UsageError(f"{flag} cannot be negative")
        if not self.max_speech_duration_s > 0:
            raise UsageError("--vad-max-speech-duration-s must be positive")
        return self

    @classmethod
    def from_options(cls, options) -> VadOptions:
        """The VAD part of a :class:`~whispercli.options.TranscribeOptions`."""
        return cls(options.vad_threshold, options.vad_min_speech_duration_ms, options.vad_min_silence_duration_ms,
                   options.vad_max_speech_duration_s, options.vad_speech_pad_ms, options.vad_samples_overlap)

    def native(self) -> dict:
        return {"threshold": self.threshold, "min_speech_duration_ms": self.min_speech_duration_ms,
                "min_silence_duration_ms": self.min_silence_duration_ms,
                "max_speech_duration_s": self.max_speech_duration_s, "speech_pad_ms": self.speech_pad_ms,
                "samples_overlap": self.samples_overlap_s}


@dataclass(frozen=True)
class SpeechSegment:
    """One stretch of speech, in milliseconds from the start of the audio (10 ms resolution)."""

    start_ms: int
    end_ms: int

    @property
    def duration_ms(self) -> int:
        return self.end_ms - self.start_ms


def resolve_vad_model(value: str = "", *, download: bool = True,
                      on_event: Optional[Callable[[object], None]] = None) -> Path:
    """A ``-vm`` value -> a checked Silero VAD file.

    ``""`` means :data:`~whispercli.models.registry.DEFAULT_VAD_MODEL`.  A VAD model name
    (``silero-v5.1.2``, ``ggml-silero-v5.1.2.bin``) is looked up in the model cache and,
    with ``download``, fetched there when missing; ``on_event`` hears the download's
    :class:`~whispercli.models.download.DownloadEvent` s.  Anything else is a path.

    Raises :class:`~whispercli.errors.ModelNotFoundError` / :class:`~whispercli.errors.ModelError`
    for a missing or malformed file, :class:`~whispercli.errors.DownloadError` when the fetch fails.
    """
    from .models.cache import model_cache_dir, model_filename
    from .models.registry import DEFAULT_VAD_MODEL, VAD_NAMES, looks_like_name
    from .models.silero import check_vad_model_file

    name = value.strip() or DEFAULT_VAD_MODEL
    if name.startswith("ggml-") and name.endswith(".bin") and os.sep not in name:
        name = name[5:-4]
    if name not in VAD_NAMES or Path(value).is_file():
        path = Path(value).expanduser()
        if not path.exists() and looks_like_name(value):
            raise ModelNotFoundError(f"VAD model not found: {value!r} is neither a file nor a VAD model name "
                                     f"({', '.join(VAD_NAMES)})")
        return check_vad_model_file(path)
    cached = model_cache_dir() / model_filename(name)
    if cached.is_file() or not download:
        return check_vad_model_file(cached)
    from .models.download import download_model

    return check_vad_model_file(download_model(name, on_event=on_event).path)


class VadModel:
    """A loaded Silero VAD model.  One detection at a time (the context holds LSTM state)."""

    def __init__(self, vctx, path: Path) -> None:
        self._vctx = vctx
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model: str | os.PathLike = "", *, n_threads: int = DEFAULT_VAD_THREADS,
             download: bool = True) -> VadModel:
        """Load a VAD file or name (see :func:`resolve_vad_model`)."""
        from . import _native

        path = resolve_vad_model(os.fspath(model), download=download)
        if n_threads < 1:
            raise UsageError("--threads must be at least 1")
        return cls(_native.vad_init(str(path), n_threads), path)

    def detect(self, audio, options: VadOptions = VadOptions()) -> list[SpeechSegment]:
        """The speech segments of ``audio`` (float32 16 kHz mono samples, or a path)."""
        from . import _native
        from .transcribe import as_samples

        samples = as_samples(audio)
        params = options.check().native()
        with self._lock:
            if self._vctx is None:
                raise UsageError("the VAD model is closed")
            spans = _native.vad_segments(self._vctx, samples, params)
        # libwhisper counts in centiseconds (whole ones: they come from int64 values)
        return [SpeechSegment(int(round(t0)) * 10, int(round(t1)) * 10) for t0, t1 in spans]

    def close(self) -> None:
        from . import _native

        with self._lock:
            if self._vctx is not None:
                _native.free(self._vctx)
                self._vctx = None

    def __enter__(self) -> VadModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def detect_speech(audio, model: str | os.PathLike = "", options: VadOptions = VadOptions(), *,
                  n_threads: int = DEFAULT_VAD_THREADS) -> list[SpeechSegment]:
    """Speech segments of ``audio`` with the VAD ``model`` (a path or name; default: silero-v6.2.0)."""
    with VadModel.load(model, n_threads=n_threads) as vad:
        return vad.detect(audio, options)
