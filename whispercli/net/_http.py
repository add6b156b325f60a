"""One HTTP request and what its failure means: retry it, or stop with a typed error."""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Optional

from .._version import __version__
from ..errors import DownloadError, UsageError
from .errors import AccessDenied, HttpStatusError, RemoteNotFound

USER_AGENT = f"whispercli/{__version__} (+https://github.com/ggml-org/whisper.cpp models; python-urllib)"
DEFAULT_TIMEOUT_S = 30.0


class Transient(Exception):
    """A failure worth retrying (``unreachable``: no HTTP answer at all; ``progressed``: bytes arrived)."""

    def __init__(self, message: str, *, progressed: bool = False, unreachable: bool = False,
                 retry_after: Optional[float] = None, status: Optional[int] = None) -> None:
        super().__init__(message)
        self.progressed = progressed
        self.unreachable = unreachable
        self.retry_after = retry_after
        self.status = status


def check_url(url: str) -> str:
    """:class:`UsageError` unless ``url`` is an http(s) URL with a host."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(ch.isspace() for ch in url):
        raise UsageError(f"not an http(s) URL: {url!r}")
    return url


def host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def reason(exc: BaseException) -> str:
    """A short cause for a connection-level failure ("timed out", "[Errno 111] Connection refused")."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "timed out"
    return str(exc) or type(exc).__name__


def retry_after(headers) -> Optional[float]:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
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


def parse_content_range(value: Optional[str]) -> tuple[Optional[int], Optional[int]]:
    """``bytes 10-99/100`` -> (10, 100); ``bytes */100`` -> (None, 100)."""
    m = _CONTENT_RANGE.match(value or "")
    if not m:
        return None, None
    start = int(m.group(1)) if m.group(1) is not None else None
    total = int(m.group(3)) if m.group(3) != "*" else None
    return start, total


def content_length(headers) -> Optional[int]:
    value = headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def request(url: str, *, method: str = "GET", offset: int = 0, token: Optional[str] = None):
    req = urllib.request.Request(url, method=method, headers={
        "User-Agent": USER_AGENT,
        "Accept-Encoding": "identity",  # byte offsets must be offsets into the file, not into a gzip stream
    })
    if offset:
        req.add_header("Range", f"bytes={offset}-")
    if token:
        # Unredirected: the token goes to the configured host, not to wherever it redirects (a CDN).
        req.add_unredirected_header("Authorization", f"Bearer {token}")
    return req


def open_url(req, *, timeout: float):
    """``urlopen`` with every failure sorted: :class:`Transient`, or a final :class:`DownloadError`.

    An ``HTTPError`` is re-raised as is for the caller to read (416 is not always an error).
    """
    url = req.full_url
    try:
        return urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError:
        raise
    except urllib.error.URLError as exc:
        # No HTTP answer: DNS failure, refused connection, connect timeout, TLS failure.
        raise Transient(f"cannot reach {host(url)}: {reason(exc)}", unreachable=True) from None
    except (ValueError, http.client.InvalidURL) as exc:
        raise DownloadError(f"cannot request {url!r}: {exc}") from None
    except (OSError, http.client.HTTPException) as exc:  # timeout or reset while awaiting the answer
        raise Transient(f"{host(url)}: {reason(exc)}") from None


def status_error(exc: urllib.error.HTTPError, url: str, label: str, token: Optional[str]) -> Exception:
    """A non-2xx answer as a final typed error, or as a :class:`Transient` one (429, 408, 5xx)."""
    code, why = exc.code, exc.reason
    if code in (401, 403):
        return AccessDenied(code, why, url, token_sent=bool(token))
    if code == 404:
        return RemoteNotFound(label, url)
    if code == 429:
        return Transient(f"HTTP 429 Too Many Requests from {host(url)}", retry_after=retry_after(exc.headers),
                         status=429)
    if code >= 500 or code == 408:
        return Transient(f"HTTP {code} {why} from {host(url)}", retry_after=retry_after(exc.headers), status=code)
    return HttpStatusError(code, why, url)


def remote_size(url: str, *, timeout: float = DEFAULT_TIMEOUT_S, token: Optional[str] = None) -> Optional[int]:
    """The size the server announces for ``url`` (one HEAD request, redirects followed), or None."""
    try:
        with urllib.request.urlopen(request(url, method="HEAD", token=token), timeout=timeout) as resp:
            return content_length(resp.headers)
    except (OSError, http.client.HTTPException, ValueError):
        return None
