"""Reading a request's form: multipart (or urlencoded) fields and the uploaded file, in memory, capped.

Starlette's own form parser spools uploads to temporary files and has no total cap.
Here every byte is counted as it streams in: past ``max_bytes`` the parse stops
(:class:`PayloadTooLarge`), nothing is ever written to disk, and nothing is held but
what is under the cap.  A ``Content-Length`` over the cap is refused before the body
is read, so a client that sent ``Expect: 100-continue`` (curl does for large files)
never uploads it.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from .errors import BadRequest, ClientGone, PayloadTooLarge, UnsupportedMediaType

# After the cap is passed, at most this much more is read (and dropped) so that the client,
# still sending, reads our 413 instead of a reset connection.
_DRAIN_LIMIT_BYTES = 64 << 20


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Form:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)

    def add(self, name: str, value: str) -> None:
        self.fields.setdefault(name, []).append(value)


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than the server's limit of {max_bytes / (1 << 20):g} MB",
                           param="file")


class _Parts:
    """python-multipart's callbacks, collecting parts into a :class:`Form`."""

    def __init__(self, form: Form, charset: str) -> None:
        self.form = form
        self.charset = charset
        self.header_name = b""
        self.header_value = b""
        self.disposition = b""
        self.content_type = b""
        self.data = bytearray()

    def _decode(self, raw: bytes) -> str:
        try:
            return raw.decode(self.charset)
        except UnicodeDecodeError:
            raise BadRequest("a form field is not valid text in the request's charset") from None

    def on_part_begin(self) -> None:
        self.disposition, self.content_type, self.data = b"", b"", bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self.data += data[start:end]

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        name = self.header_name.lower()
        if name == b"content-disposition":
            self.disposition = self.header_value
        elif name == b"content-type":
            self.content_type = self.header_value
        self.header_name, self.header_value = b"", b""

    def on_part_end(self) -> None:
        from python_multipart.multipart import parse_options_header

        _, options = parse_options_header(self.disposition)
        if b"name" not in options:
            raise BadRequest("a multipart part has no name in its Content-Disposition")
        name = self._decode(options[b"name"])
        if b"filename" in options:
            self.form.files[name] = Upload(self._decode(options[b"filename"]),
                                           self.content_type.decode("latin-1"), bytes(self.data))
        else:
            self.form.add(name, self._decode(bytes(self.data)))
        self.data = bytearray()


async def read_form(request, max_bytes: int) -> Form:
    """The request's form; raises :class:`PayloadTooLarge`, :class:`UnsupportedMediaType`, :class:`BadRequest`
    or :class:`ClientGone` (the client left during the upload)."""
    from starlette.requests import ClientDisconnect

    try:
        return await _read_form(request, max_bytes)
    except ClientDisconnect:
        raise ClientGone("the client disconnected during the upload") from None


async def _read_form(request, max_bytes: int) -> Form:
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header

    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        if request.headers.get("expect", "").lower() != "100-continue":
            await _drain(request.stream(), 0)
        raise _too_large(max_bytes)
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    charset = params.get(b"charset", b"utf-8").decode("latin-1")
    try:
        charset = codecs.lookup(charset).name
    except LookupError:
        raise BadRequest(f"unknown charset {charset!r}") from None
    form = Form()
    if content_type == b"application/x-www-form-urlencoded":
        body = bytearray()
        async for chunk in _capped(request, max_bytes):
            body += chunk
        try:
            for name, value in parse_qsl(body.decode(charset), keep_blank_values=True):
                form.add(name, value)
        except UnicodeDecodeError:
            raise BadRequest("the form is not valid text in the request's charset") from None
        return form
    if content_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            f"expected a multipart/form-data body, got {content_type.decode('latin-1') or 'none'!r}")
    if b"boundary" not in params:
        raise BadRequest("the multipart/form-data body has no boundary")
    parts = _Parts(form, charset)
    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": parts.on_part_begin, "on_part_data": parts.on_part_data,
        "on_part_end": parts.on_part_end, "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value, "on_header_end": parts.on_header_end,
    })
    try:
        async for chunk in _capped(request, max_bytes):
            parser.write(chunk)
        parser.finalize()
    except FormParserError as exc:
        raise BadRequest(f"malformed multipart body ({exc})") from None
    return form


async def _capped(request, max_bytes: int):
    """The body's chunks; past ``max_bytes`` the rest is drained and :class:`PayloadTooLarge` raised."""
    received = 0
    stream = request.stream()
    async for chunk in stream:
        received += len(chunk)
        if received > max_bytes:
            await _drain(stream, received)
            raise _too_large(max_bytes)
        yield chunk


async def _drain(stream, received: int) -> None:
    from starlette.requests import ClientDisconnect

    try:
        async for chunk in stream:
            received += len(chunk)
            if received > _DRAIN_LIMIT_BYTES:
                return
    except ClientDisconnect:
        return
