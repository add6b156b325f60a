"""Where each input's results go: output names, atomic files, stdout."""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from ..errors import OutputError


def output_base(input_name: str, of_value: str | None, output_dir: str | None, strip_ext: bool) -> str:
    """The path without extension, as whisper-cli names it unless told otherwise.

    whisper-cli: the ``-of`` value, else the full input path (``a.wav`` -> ``a.wav.srt``).
    ``strip_ext`` drops the input's extension (``a.srt``); ``output_dir`` moves the
    file there, keeping its base name.
    """
    if of_value is not None:
        base = of_value
    elif input_name == "-":
        base = "stdin"
    else:
        base = input_name
        if strip_ext:
            root, ext = os.path.splitext(base)
            base = root if ext else base
    if output_dir is not None and of_value is None:
        base = os.path.join(output_dir, os.path.basename(base))
    return base


@contextmanager
def atomic_output(path: str) -> Iterator[BinaryIO]:
    """Write to a temp file beside ``path`` and rename it into place on success.

    An error or interruption leaves the old file (if any) and no partial one.
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=directory)
    except OSError as exc:
        raise OutputError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as fp:
            yield fp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        _unlink_quietly(tmp)
        raise OutputError(f"cannot write {path!r}: {exc.strerror or exc}") from None
    except BaseException:
        _unlink_quietly(tmp)
        raise


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable_dir(path: str) -> None:
    """Fail before the work, not after it: probe the directory with a real temp file
    (os.access says yes to root even where the filesystem says no)."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise OutputError(f"output directory does not exist: {directory!r}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".whispercli-probe-", dir=directory)
    except OSError as exc:
        raise OutputError(f"output directory is not writable: {directory!r} ({exc.strerror})") from None
    os.close(fd)
    _unlink_quietly(probe)


def stdout_binary() -> BinaryIO:
    return sys.stdout.buffer
