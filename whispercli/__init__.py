"""whispercli: whisper.cpp v1.9.1 from Python and the command line.

>>> from whispercli import Model, load_audio
>>> with Model.load("ggml-tiny.en.bin") as model:
...     print(model.transcribe(load_audio("jfk.wav")).text)

Names are imported lazily so that ``import whispercli`` (and ``whispercli --help``)
loads neither numpy nor the native module.
"""

from __future__ import annotations

from ._version import WHISPER_CPP_VERSION, __version__
from .errors import (
    AudioError,
    ConversionError,
    DownloadError,
    ModelError,
    ModelFormatError,
    ModelNotFoundError,
    NativeError,
    OutputError,
    TranscriptionAborted,
    UsageError,
    WhisperCliError,
)

_LAZY = {
    "Model": ".model",
    "FullParams": ".params",
    "ContextParams": ".params",
    "SamplingStrategy": ".params",
    "Transcript": ".types",
    "Segment": ".types",
    "Token": ".types",
    "LanguageGuess": ".types",
    "load_audio": ".audio",
    "validate_model": ".models.validate",
    "validate_vad_model": ".models.validate",
    "convert_ct2_to_ggml": ".convert",
}

__all__ = [
    "__version__", "WHISPER_CPP_VERSION", "WhisperCliError", "NativeError", "ModelError",
    "ModelFormatError", "ModelNotFoundError", "ConversionError", "AudioError", "OutputError", "DownloadError",
    "UsageError", "TranscriptionAborted", *_LAZY,
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'whispercli' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value
