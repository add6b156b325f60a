"""Exit statuses, one place.  Documented in the README and in ``man whispercli``."""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    ERROR = 1  # an unexpected internal error (a bug: run with --debug and report it)
    USAGE = 2  # bad command line: unknown option, bad value, unknown language
    MODEL = 3  # model missing, not a ggml model, truncated, or not convertible
    AUDIO = 4  # input missing or undecodable
    OUTPUT = 5  # an output file or directory is not writable
    DOWNLOAD = 6  # download failed or the checksum did not match
    CLUSTER = 7  # --cluster: the scheduler cannot be reached, or workers died on every try of an input
    PARTIAL = 8  # several inputs: some failed (each reported), the others are done
    NATIVE = 10  # libwhisper failed while processing (whisper-cli uses 10 too)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT); finished outputs are kept


def status_for(exc: BaseException) -> ExitStatus:
    """The exit status for a deliberate whispercli error."""
    from .. import errors

    table = [
        (errors.UsageError, ExitStatus.USAGE),
        (errors.ModelError, ExitStatus.MODEL),
        (errors.AudioError, ExitStatus.AUDIO),
        (errors.OutputError, ExitStatus.OUTPUT),
        (errors.DownloadError, ExitStatus.DOWNLOAD),
        (errors.ClusterError, ExitStatus.CLUSTER),
        (errors.TranscriptionAborted, ExitStatus.INTERRUPTED),
        (errors.NativeError, ExitStatus.NATIVE),
        (errors.BuildMismatchError, ExitStatus.ERROR),
    ]
    for cls, status in table:
        if isinstance(exc, cls):
            return status
    return ExitStatus.ERROR
