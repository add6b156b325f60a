"""What a download can run into, as types: the caller decides what to tell the user.

All are :class:`~whispercli.errors.DownloadError` subclasses (one exit status).  The
generic client knows the facts (status, URL, whether a token was sent, the checksums);
a caller that knows more, such as "this is Hugging Face", puts it in ``hint`` and
re-raises the same error, so the message grows but the type and the fields stay.
"""

from __future__ import annotations

from typing import Optional

from ..errors import DownloadError


class Unreachable(DownloadError):
    """No attempt got an HTTP answer (DNS failure, refused connection, connect timeout)."""


class HttpStatusError(DownloadError):
    """The server answered with a status that retrying will not change."""

    def __init__(self, status: int, reason: str, url: str, *, hint: str = "") -> None:
        self.status, self.reason, self.url, self.hint = status, reason, url, hint
        super().__init__(status, reason, url)

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.reason} for {self.url}" + (f": {self.hint}" if self.hint else "")


class AccessDenied(HttpStatusError):
    """401 or 403; ``token_sent`` says whether a bearer token went with the request."""

    def __init__(self, status: int, reason: str, url: str, *, token_sent: bool, hint: str = "") -> None:
        super().__init__(status, reason, url, hint=hint)
        self.token_sent = token_sent

    def __str__(self) -> str:
        return f"HTTP {self.status} {self.reason} for {self.url}: access denied" + (
            f"; {self.hint}" if self.hint else "")


class RemoteNotFound(HttpStatusError):
    """404: ``label`` is not at ``url``."""

    def __init__(self, label: str, url: str) -> None:
        super().__init__(404, "Not Found", url)
        self.label = label

    def __str__(self) -> str:
        return f"{self.label} not found at {self.url} (HTTP 404)"


class RateLimited(DownloadError):
    """429 after the retries, or a ``Retry-After`` too long to wait for (``retry_after_s``)."""

    def __init__(self, message: str, *, retry_after_s: Optional[float] = None, hint: str = "") -> None:
        self.message, self.retry_after_s, self.hint = message, retry_after_s, hint
        super().__init__(message)

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")


class ContentError(DownloadError):
    """The complete body failed a check; its ``.part`` was removed.  ``detail`` is the short reason."""

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


class ChecksumMismatch(ContentError):
    """The body's SHA1 is not the expected one (``hint`` says where the expected one comes from)."""

    def __init__(self, label: str, url: str, actual: str, expected: str, *, hint: str = "") -> None:
        self.label, self.url, self.actual, self.expected, self.hint = label, url, actual, expected, hint
        super().__init__(label, detail=f"SHA1 {actual} does not match {expected}")

    def __str__(self) -> str:
        origin = f" ({self.hint})" if self.hint else ""
        return (f"{self.label} from {self.url} has SHA1 {self.actual}, expected {self.expected}{origin}: "
                f"the download is corrupt and was removed")


class SizeMismatch(ContentError):
    """The server announced, or sent, another length than the expected one."""
