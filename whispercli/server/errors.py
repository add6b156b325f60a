"""Typed request errors, and the one table that maps every error to an HTTP status.

Like ``cli/exit_codes.py`` for exit statuses: routes raise typed errors (ours below,
or the library's :class:`~whispercli.errors.WhisperCliError` subclasses) and
:func:`http_status_for` is the only place that decides the status.  The body is in
the endpoint's error shape (:func:`error_body`): OpenAI's
``{"error": {"message", "type", "param", "code"}}`` on ``/v1/*``, whisper-server's
``{"error": "message"}`` on ``/inference`` and ``/load``.
"""

from __future__ import annotations

import json

from .. import errors as lib_errors


class RequestError(lib_errors.WhisperCliError):
    """A request the server refuses; ``param`` names the form field at fault, ``code`` is a short slug."""

    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.param = param
        if code is not None:
            self.code = code


class BadRequest(RequestError):
    """A field is missing or has a bad value (400)."""

    code = "invalid_value"


class Unauthorized(RequestError):
    """No API key, or the wrong one (401)."""

    code = "invalid_api_key"


class Forbidden(RequestError):
    """An endpoint that this server was not started to offer (``/load`` without ``--allow-load``)."""

    code = "forbidden"


class NotFound(RequestError):
    code = "not_found"


class PayloadTooLarge(RequestError):
    """The upload passed ``--max-upload-mb`` (413)."""

    code = "file_too_large"


class UnsupportedMediaType(RequestError):
    """The body is not ``multipart/form-data`` (415)."""

    code = "unsupported_media_type"


class Saturated(RequestError):
    """Every worker is busy and the queue is full (503 + Retry-After)."""

    code = "server_busy"

    def __init__(self, message: str, *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ShuttingDown(RequestError):
    """The server is stopping and ``--drain-timeout`` passed: the request was aborted (503 + Retry-After:
    retryable, another instance behind the load balancer answers it)."""

    code = "shutting_down"

    def __init__(self, message: str = "the server is shutting down and its --drain-timeout has passed; "
                                      "the request was aborted, retry it", *, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class RequestTimeout(RequestError):
    """``--request-timeout`` passed: the computation was aborted (504)."""

    code = "timeout"


class ClientGone(RequestError):
    """The client disconnected; nobody reads the answer (499, nginx's convention, for the logs and metrics)."""

    code = "client_closed_request"


# Most specific first: the first class an error is an instance of decides.
_STATUS_TABLE: tuple[tuple[type[BaseException], int], ...] = (
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (PayloadTooLarge, 413),
    (UnsupportedMediaType, 415),
    (Saturated, 503),
    (ShuttingDown, 503),
    (RequestTimeout, 504),
    (ClientGone, 499),
    (BadRequest, 400),
    (lib_errors.UsageError, 400),  # a bad option value (language, DTW preset, ...)
    (lib_errors.AudioError, 400),  # undecodable or empty audio: the client's file
    (lib_errors.ModelNotFoundError, 404),  # /load of a name that is not in the cache
    (lib_errors.ModelError, 422),  # /load of a file that is not a usable model
)


def http_status_for(exc: BaseException) -> int:
    """The HTTP status for an error; anything not in the table is ours (500)."""
    for cls, status in _STATUS_TABLE:
        if isinstance(exc, cls):
            return status
    return 500


def _openai_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status in (499, 500, 503, 504):
        return "server_error"
    return "invalid_request_error"


def retry_after_header(exc: BaseException) -> dict[str, str] | None:
    """``Retry-After`` for the errors a client should retry (a full queue, a server shutting down)."""
    retry_after_s = getattr(exc, "retry_after_s", None)
    return None if retry_after_s is None else {"Retry-After": str(retry_after_s)}


def error_body(exc: BaseException, status: int, *, openai: bool) -> bytes:
    """One-line message in the endpoint's error shape (never a traceback)."""
    message = str(exc) if isinstance(exc, lib_errors.WhisperCliError) else "internal server error"
    message = " ".join(message.split()) or type(exc).__name__
    if not openai:
        return json.dumps({"error": message}).encode()
    code = getattr(exc, "code", None)
    if code is None:
        code = "internal_error" if status == 500 else "invalid_request"
    return json.dumps({"error": {"message": message, "type": _openai_type(status),
                                 "param": getattr(exc, "param", None), "code": code}}).encode()
