"""A resumable, retried, checked HTTP download into ``<dest>.part``, renamed into place when good.

Generic: it knows URLs, byte ranges and checksums, not models (the policy, which URL
and which SHA1, is :mod:`whispercli.models.download`'s).  It prints nothing; progress
goes to a callback.

- The body goes to ``<dest>.part``, locked against a second writer, and is renamed
  over ``dest`` only once complete and checked.
- An interrupted transfer resumes with an HTTP ``Range`` request (in the same call
  after a dropped connection or a timeout, or in a later call from the ``.part``).
  A server that ignores ``Range`` (200) restarts from zero; 416 means the ``.part``
  was already complete.
- Checks, on the complete body: the expected SHA1 (computed while streaming, so a
  resumed ``.part`` is hashed once), the expected size (also against the size the
  server announces, before any byte is fetched), and a ``check`` hook for anything
  else.  A failed check removes the ``.part``, except that a ``.part`` left by an
  *earlier* call (maybe of another version of the file) is restarted from zero once.
- Transient failures are retried with exponential backoff: connection errors,
  timeouts, 5xx, 408 and 429 (honouring ``Retry-After``).  ``retries`` bounds the
  consecutive failures that made no progress; a host that cannot be resolved or
  refuses connections is retried at most twice.  An attempt that received bytes
  resets the count (at most ``MAX_RESUMES`` times), so a flaky link still finishes.
- Final failures are typed (:mod:`whispercli.net.errors`).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Optional

from ..errors import DownloadError, OutputError
from ..fileio import PART_SUFFIX, move_into_place
from . import _http
from ._http import DEFAULT_TIMEOUT_S, Transient, check_url
from .errors import ChecksumMismatch, ContentError, RateLimited, SizeMismatch, Unreachable

DEFAULT_RETRIES = 5
DEFAULT_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0  # a longer Retry-After is reported instead of waited for
UNREACHABLE_RETRIES = 2  # DNS failure / refused connection: retried at most this often
MAX_RESUMES = 100  # interrupted attempts that made progress, per download
CHUNK = 1 << 20
EVENT_INTERVAL_S = 0.1


@dataclass(frozen=True)
class DownloadEvent:
    """What a download reports while it works.

    ``kind`` is one of:

    - ``"notice"``: a line worth showing (checking a file, a retry, a restart...);
    - ``"start"``: a transfer begins; ``done_bytes`` is where it resumes, ``total_bytes``
      the full size when the server said;
    - ``"progress"``: ``done_bytes`` of ``total_bytes`` are on disk (at most every 0.1 s);
    - ``"done"``: the file is in place; ``message`` summarises.

    ``name`` is the label of the file (a model name for model downloads).
    """

    kind: str
    name: str
    message: str = ""
    done_bytes: int = 0
    total_bytes: Optional[int] = None


EventCallback = Callable[[DownloadEvent], None]
#: Called with the complete body (positioned at 0) and its SHA1; raises ContentError to reject it.
CheckHook = Callable[[BinaryIO, str], None]


@dataclass(frozen=True)
class FetchStats:
    """What one :func:`download_file` call cost."""

    sha1: str
    size_bytes: int
    bytes_fetched: int  # body bytes received over all requests
    requests: int  # GET requests sent
    resumed_from: Optional[int]  # the offset of the first Range request that was honoured
    elapsed_s: float


def part_path(path: Path) -> Path:
    return path.with_name(path.name + PART_SUFFIX)


def format_size(n: Optional[int], estimate: bool = False) -> str:
    """``77704715`` -> ``74 MiB``; ``estimate`` prefixes ``~``; None -> ``?``."""
    if n is None:
        return "?"
    prefix = "~" if estimate else ""
    if n >= 1024 ** 3:
        return f"{prefix}{n / 1024 ** 3:.1f} GiB"
    if n >= 1024 ** 2:
        return f"{prefix}{n / 1024 ** 2:.0f} MiB"
    if n >= 1024:
        return f"{prefix}{n / 1024:.0f} KiB"
    return f"{prefix}{n} B"


def _lock(fp) -> bool:
    """An exclusive, non-blocking lock on the open ``.part`` (POSIX); False when another process holds it."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        return True
    try:
        fcntl.flock(fp.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError:  # a file system without locks
        return True
    return True


class _Restart(Exception):
    """The ``.part`` cannot be continued: start again from zero, at once."""


class _Fetch:
    """One download into ``<dest>.part``: the state that survives retries."""

    def __init__(self, url: str, dest: Path, *, label: str, sha1: Optional[str], size_bytes: Optional[int],
                 check: Optional[CheckHook], token: Optional[str], timeout: float,
                 emit: Callable[..., None]) -> None:
        self.url, self.dest, self.label = url, dest, label
        self.part = part_path(dest)
        self.expected_sha1, self.expected_size, self.check = sha1, size_bytes, check
        self.token, self.timeout, self.emit = token, timeout, emit
        self.hasher = hashlib.sha1()
        self.offset = 0
        self.total: Optional[int] = None
        self.bytes_fetched = 0
        self.requests = 0
        self.resumed_from: Optional[int] = None
        self.space_checked = False
        self.stale = False  # holds bytes from an earlier run (maybe of another version of the file)

    # -- the .part file
    def open(self):
        try:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            fp = open(self.part, "a+b")
        except OSError as exc:
            raise OutputError(f"{self.part}: cannot write the download: {exc.strerror or exc}") from exc
        if not _lock(fp):
            fp.close()
            raise DownloadError(f"{self.part} is being written by another process; wait for it to finish")
        fp.seek(0)
        while chunk := fp.read(CHUNK):  # resume: the SHA1 covers the whole file
            self.hasher.update(chunk)
            self.offset += len(chunk)
        self.stale = self.offset > 0
        return fp

    def truncate(self, fp) -> None:
        fp.seek(0)
        fp.truncate(0)
        self.hasher = hashlib.sha1()
        self.offset = 0
        self.stale = False

    def write(self, fp, chunk: bytes) -> None:
        try:
            fp.write(chunk)
        except OSError as exc:
            raise OutputError(f"{self.part}: cannot write the download: {exc.strerror or exc}") from exc
        self.hasher.update(chunk)
        self.offset += len(chunk)

    def check_space(self) -> None:
        if self.space_checked or self.total is None:
            return
        self.space_checked = True
        try:
            free = shutil.disk_usage(self.part.parent).free
        except OSError:
            return
        need = self.total - self.offset
        if need > free:
            raise OutputError(f"{self.part.parent}: not enough space for {self.label}: "
                              f"{format_size(need)} needed, {format_size(free)} free")

    # -- one GET
    def attempt(self, fp) -> None:
        """Fetch the rest of the body into ``fp``; returns when it is complete.

        Raises Transient (retry), _Restart (truncate and retry at once), or a final error.
        """
        start = self.offset
        self.requests += 1
        try:
            resp = _http.open_url(_http.request(self.url, offset=start, token=self.token), timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 416 and start:
                    _, total = _http.parse_content_range(exc.headers.get("Content-Range"))
                    if total == start or (total is None and self.expected_sha1 == self.hasher.hexdigest()):
                        self.total = start  # the .part was already complete
                        self.resumed_from = start
                        return
                    self.emit("notice", f"the server refused to resume at byte {start} (HTTP 416); starting again")
                    raise _Restart()
                raise _http.status_error(exc, self.url, self.label, self.token) from None

        with resp:
            status = resp.status
            length = _http.content_length(resp.headers)
            if status == 206:
                first, total = _http.parse_content_range(resp.headers.get("Content-Range"))
                if first != start:
                    self.emit("notice", f"the server resumed at byte {first}, not {start}; starting again")
                    raise _Restart()
                if self.resumed_from is None:
                    self.resumed_from = start
                total = total if total is not None else (start + length if length is not None else None)
            else:
                if start:
                    self.emit("notice", f"the server does not resume downloads (HTTP {status} to a Range "
                                        f"request); starting again from zero")
                    self.truncate(fp)
                    start = 0
                total = length
            if self.total is not None and total is not None and total != self.total:
                self.emit("notice", f"the file changed on the server ({self.total} -> {total} bytes); starting again")
                self.total = total
                raise _Restart()
            if self.expected_size is not None and total is not None and total != self.expected_size:
                raise SizeMismatch(f"{self.label} at {self.url} has {total} bytes, expected {self.expected_size}",
                                   detail=f"{total} bytes, not {self.expected_size}")
            self.total = total
            self.check_space()
            self.emit("start", done=self.offset, total=self.total)
            last = time.monotonic()
            try:
                while True:
                    chunk = resp.read1(CHUNK)
                    if not chunk:
                        break
                    self.bytes_fetched += len(chunk)
                    self.write(fp, chunk)
                    now = time.monotonic()
                    if now - last >= EVENT_INTERVAL_S:
                        last = now
                        self.emit("progress", done=self.offset, total=self.total)
            except (OSError, http.client.HTTPException) as exc:  # a reset or a timeout mid-body
                raise Transient(f"{_http.host(self.url)}: {_http.reason(exc)} after {self.offset} of "
                                f"{self.total if self.total is not None else '?'} bytes",
                                progressed=self.offset > start) from None
        self.emit("progress", done=self.offset, total=self.total)
        if self.total is not None and self.offset < self.total:
            raise Transient(f"{_http.host(self.url)} closed the connection after {self.offset} of {self.total} bytes",
                            progressed=self.offset > start)
        if self.total is not None and self.offset > self.total:  # pragma: no cover - read1 stops at the length
            raise _Restart()
        if self.total is None:
            self.total = self.offset

    # -- checks once complete
    def verify(self, fp) -> None:
        actual = self.hasher.hexdigest()
        if self.expected_sha1 and actual != self.expected_sha1:
            raise ChecksumMismatch(self.label, self.url, actual, self.expected_sha1)
        if self.expected_size is not None and self.offset != self.expected_size:
            raise SizeMismatch(f"{self.label} from {self.url} has {self.offset} bytes, expected "
                               f"{self.expected_size}: the download was removed",
                               detail=f"{self.offset} bytes, not {self.expected_size}")
        if self.check is not None:
            fp.seek(0)
            self.check(fp, actual)


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    sha1: Optional[str] = None,
    size_bytes: Optional[int] = None,
    check: Optional[CheckHook] = None,
    label: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    backoff: float = DEFAULT_BACKOFF_S,
    token: Optional[str] = None,
    on_event: Optional[EventCallback] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchStats:
    """Download ``url`` to ``dest`` through ``dest.part``: resumable, retried, checked, atomic.

    ``sha1``, ``size_bytes``: what the complete body must be (a mismatch removes the
    ``.part`` and raises); ``check``: any further check of the complete body;
    ``label``: the name used in messages and events (default: ``dest``'s name);
    ``token``: sent as ``Authorization: Bearer`` to ``url``'s host only; ``retries``:
    consecutive failed attempts (without progress) before giving up; ``timeout``:
    seconds per connect and per read; ``backoff``: the first retry delay (doubled each
    time, at most 30 s).

    Raises:
        DownloadError: one of :mod:`whispercli.net.errors` when the server said no
            (401/403/404/...), transient errors outlasted the retries
            (:class:`Unreachable` when no attempt got an HTTP answer,
            :class:`RateLimited` for 429), or the content is wrong
            (:class:`ContentError`).
        OutputError: ``dest``'s directory is not writable or too small.
    """
    dest = Path(dest)
    label = label or dest.name

    def emit(kind: str, message: str = "", *, done: int = 0, total: Optional[int] = None) -> None:
        if on_event is not None:
            on_event(DownloadEvent(kind, label, message, done, total))

    check_url(url)
    job = _Fetch(url, dest, label=label, sha1=sha1, size_bytes=size_bytes, check=check, token=token,
                 timeout=timeout, emit=emit)
    t0 = time.monotonic()
    fp = job.open()
    try:
        if job.stale:
            emit("notice", f"resuming {job.part.name} ({format_size(job.offset)} already there)")
        failures = resumes = attempts = 0
        got_answer = False
        while True:
            attempts += 1
            try:
                job.attempt(fp)
                job.verify(fp)
                break
            except _Restart:
                job.truncate(fp)
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise DownloadError(f"download of {label} from {url} kept restarting; giving up") from None
                continue
            except ContentError as bad:
                if not job.stale:
                    raise
                emit("notice", f"{bad.detail} after resuming a .part left by an earlier run; "
                               f"downloading again from zero")
                job.truncate(fp)
                continue
            except Transient as exc:
                got_answer = got_answer or not exc.unreachable
                if exc.progressed:
                    failures = 0
                    resumes += 1
                    if resumes > MAX_RESUMES:
                        raise DownloadError(f"download of {label} from {url} was interrupted {resumes} times; "
                                            f"giving up (the .part is kept: run again to resume)") from None
                    emit("notice", f"{exc}; resuming")
                    continue
                failures += 1
                limit = min(retries, UNREACHABLE_RETRIES) if exc.unreachable else retries
                if failures > limit:
                    raise _final_error(exc, label, attempts, got_answer) from None
                delay = min(backoff * 2 ** (failures - 1), MAX_BACKOFF_S)
                if exc.retry_after is not None:
                    if exc.retry_after > MAX_RETRY_AFTER_S:
                        raise RateLimited(f"{exc}: rate-limited; the server asks to wait {exc.retry_after:.0f} s, "
                                          f"try again later", retry_after_s=exc.retry_after) from None
                    delay = max(delay, exc.retry_after)
                emit("notice", f"{exc}; retrying in {delay:.3g} s (attempt {attempts + 1} of at most "
                               f"{attempts + limit - failures + 1})")
                sleep(delay)
        try:
            fp.flush()
            os.fsync(fp.fileno())
        except OSError as exc:
            raise OutputError(f"{job.part}: cannot write the download: {exc.strerror or exc}") from exc
    except BaseException as exc:
        # Wrong content: the .part goes.  Anything else (refused, interrupted, out of retries):
        # the .part stays, to be resumed by the next run, unless it is empty.
        empty = job.offset == 0
        fp.close()
        if isinstance(exc, ContentError) or empty:
            job.part.unlink(missing_ok=True)
        raise
    fp.close()
    move_into_place(job.part, dest, durable=True)
    return FetchStats(sha1=job.hasher.hexdigest(), size_bytes=job.offset, bytes_fetched=job.bytes_fetched,
                      requests=job.requests, resumed_from=job.resumed_from, elapsed_s=time.monotonic() - t0)


def _final_error(exc: Transient, label: str, attempts: int, got_answer: bool) -> DownloadError:
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if exc.status == 429:
        return RateLimited(f"{exc}: still rate-limited after {tries}; wait and try again", retry_after_s=exc.retry_after)
    if exc.unreachable and not got_answer:
        return Unreachable(f"{exc} ({tries})")
    return DownloadError(f"download of {label} failed after {tries}: {exc}")
