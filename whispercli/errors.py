"""The exceptions whispercli raises on purpose.

Everything a user can cause (a bad path, a corrupt model, undecodable audio, an
unwritable output) is a :class:`WhisperCliError` subclass with a message that names
the file, model or function involved.  Anything else escaping the library is a bug.
"""

from __future__ import annotations


class WhisperCliError(Exception):
    """Base class for every error whispercli raises deliberately."""


class NativeError(WhisperCliError):
    """libwhisper said no (a non-zero return or NULL) and we cannot say more."""

    def __init__(self, function: str, code: int | None = None, detail: str = "") -> None:
        self.function = function
        self.code = code
        msg = f"{function} failed"
        if code is not None:
            msg += f" (return code {code})"
        if detail:
            msg += f": {detail}"
        super().__init__(msg)


class BuildMismatchError(WhisperCliError, ImportError):
    """The compiled module does not belong to this Python package version."""


class ModelError(WhisperCliError):
    """A model file is missing, is not a ggml Whisper model, or is truncated."""


class ModelFormatError(ModelError):
    """A model file is malformed: its header, counts, tensor table or sizes are not a real model's."""


class ModelNotFoundError(ModelError, FileNotFoundError):
    """The model path or name does not resolve to an existing file."""


class ConversionError(ModelError):
    """A checkpoint could not be converted to ggml (unsupported or malformed input)."""


class AudioError(WhisperCliError):
    """Audio could not be read or is not in a usable shape, dtype or rate."""


class OutputError(WhisperCliError):
    """An output file could not be written."""


class DownloadError(WhisperCliError):
    """A model download failed or produced a file with the wrong checksum."""


class ClusterError(WhisperCliError):
    """The Dask cluster cannot be reached or used, or a worker died on every try of an input."""


class UsageError(WhisperCliError):
    """An option value is invalid (unknown language, bad preset, ...)."""


class TranscriptionAborted(WhisperCliError):
    """The abort callback stopped the computation; partial results are attached."""

    def __init__(self, message: str = "transcription aborted", partial=None) -> None:
        super().__init__(message)
        self.partial = partial
