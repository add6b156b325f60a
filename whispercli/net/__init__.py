"""Fetching files over HTTP: resumable, retried, checked (generic; knows nothing of models).

:func:`download_file` is the transfer, :func:`remote_size` one HEAD request, and
:mod:`whispercli.net.errors` the typed failures.  Which file to fetch from where, and
what it must hash to, is the caller's business (:mod:`whispercli.models.download`).
"""

from ._http import check_url, remote_size
from .download import DownloadEvent, EventCallback, FetchStats, download_file, format_size, part_path
from .errors import (AccessDenied, ChecksumMismatch, ContentError, HttpStatusError, RateLimited, RemoteNotFound,
                     SizeMismatch, Unreachable)

__all__ = [
    "AccessDenied", "ChecksumMismatch", "ContentError", "DownloadEvent", "EventCallback", "FetchStats",
    "HttpStatusError", "RateLimited", "RemoteNotFound", "SizeMismatch", "Unreachable", "check_url",
    "download_file", "format_size", "part_path", "remote_size",
]
