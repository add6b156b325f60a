"""Writing files so that a reader never sees half of one.

Every file whispercli produces (transcripts, converted and quantized models) goes through
:func:`atomic_write` (a stream) or :func:`atomic_path` (a file name, for C code that
writes by name): bytes go to a hidden temp file in the target's directory, which is
renamed over the target only when the whole body is written.  An error or an
interruption leaves the old file (if any) and no partial one.  Downloads keep a
resumable ``NAME.part`` instead of a random temp name, and end with the same
:func:`move_into_place`.  Every new file gets the mode a plain ``open(path, "w")`` would
give it (``0o666 & ~umask``), not ``mkstemp``'s 0600.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import OutputError

PART_SUFFIX = ".part"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def unlink_quietly(path: str | os.PathLike) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def default_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file under the current umask."""
    return 0o666 & ~_umask()


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename in ``directory`` durable (POSIX; best effort)."""
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def move_into_place(tmp: str | os.PathLike, target: str | os.PathLike, *, error=OutputError,
                    durable: bool = False) -> None:
    """Rename the finished ``tmp`` over ``target`` with the default file mode: the one rename step.

    ``durable`` also syncs the directory, for files worth a download.
    """
    try:
        os.chmod(tmp, default_file_mode())
        os.replace(tmp, target)
    except OSError as exc:
        raise error(f"cannot write {str(target)!r}: {exc.strerror or exc}") from None
    if durable:
        fsync_dir(Path(target).parent)


@contextmanager
def atomic_path(path: str | os.PathLike, *, error=OutputError) -> Iterator[Path]:
    """Yield the name of a hidden temp file beside ``path`` (for writers that want a path,
    such as libwhisper's quantizer); it replaces ``path`` when the block ends without error.

    ``error`` is the :class:`~whispercli.errors.WhisperCliError` subclass raised when the
    filesystem refuses (``OutputError`` for transcripts, ``ModelError`` for model files).
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=PART_SUFFIX, dir=directory)
        os.close(fd)
    except OSError as exc:
        raise error(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    try:
        yield Path(tmp)
        move_into_place(tmp, target, error=error)
    except OSError as exc:
        unlink_quietly(tmp)
        raise error(f"cannot write {str(path)!r}: {exc.strerror or exc}") from None
    except BaseException:
        unlink_quietly(tmp)
        raise


@contextmanager
def atomic_write(path: str | os.PathLike, *, error=OutputError) -> Iterator[BinaryIO]:
    """Yield a binary stream whose bytes replace ``path`` when the block ends without error."""
    with atomic_path(path, error=error) as tmp:
        with open(tmp, "wb") as fp:
            yield fp


def ensure_writable_dir(directory: str | os.PathLike, *, create: bool = False) -> None:
    """Fail before the work, not after it: probe ``directory`` with a real temp file
    (``os.access`` says yes to root even where the filesystem says no).

    ``create`` makes the directory and its parents first, as ``mkdir -p`` does.
    """
    directory = str(directory) or "."
    if create and not os.path.isdir(directory):
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"cannot create output directory {directory!r}: {exc.strerror or exc}") from None
    if not os.path.isdir(directory):
        raise OutputError(f"output directory does not exist: {directory!r}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".whispercli-probe-", dir=directory)
    except OSError as exc:
        raise OutputError(f"output directory is not writable: {directory!r} ({exc.strerror})") from None
    os.close(fd)
    unlink_quietly(probe)
