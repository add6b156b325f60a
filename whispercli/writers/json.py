"""``.json`` for ``-oj`` and ``-ojf`` (cli.cpp ``output_json``), written by hand as whisper-cli does.

Tab indentation, whisper-cli's key order, numbers as ``std::ostream`` prints them
(``p`` and ``t_dtw`` with 6 significant digits; ``t_dtw`` is -1 without DTW).
``-ojf`` (:func:`write_full`) adds each segment's ``tokens``, special tokens
included, with tokens that split a UTF-8 character merged as whisper-cli merges
them (see ``_utf8.merge_split_tokens``).

Differences from whisper-cli (``ctx.compat`` restores its exact bytes):

* **Control characters.**  whisper-cli escapes only ``"`` and ``\\``, so a
  U+0000-U+001F character in a transcript (a tab, a newline from a prompt or a
  grammar) makes the file invalid JSON.  We also escape those, as JSON requires:
  ``\\b \\f \\n \\r \\t`` and ``\\u00XX`` for the rest.
* **UTF-8.**  A character split between two segments (or between tokens around
  a timestamp token, which whisper-cli's merge swallows) makes whisper-cli write
  invalid UTF-8.  We repair it (see ``_utf8``): the character moves to where it
  ends, and bytes that cannot be completed become U+FFFD.  In json-full our merge
  also stops before special tokens instead of appending ``[_TT_n]`` to half a
  character.

For text without control characters whose bytes are valid UTF-8 in whisper-cli's
output, both modes write the same bytes.
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import speaker_id
from ._timefmt import float32_g, float_g, ticks, timestamp, token_ticks
from ._utf8 import is_valid, merge_split_tokens, repair_chunks, repair_token_lists

_SHORT_ESCAPES = {0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0C: b"\\f", 0x0D: b"\\r"}
_ESCAPE_TABLE: dict[int, bytes] = {c: _SHORT_ESCAPES.get(c, b"\\u%04x" % c) for c in range(0x20)}
_ESCAPE_TABLE[ord('"')] = b'\\"'
_ESCAPE_TABLE[ord("\\")] = b"\\\\"


def escape_compat(text: bytes) -> bytes:
    """cli.cpp ``escape_double_quotes_and_backslashes``: ``"`` and ``\\`` only."""
    return text.replace(b"\\", b"\\\\").replace(b'"', b'\\"')


def escape_json(text: bytes) -> bytes:
    """``"``, ``\\`` and U+0000-U+001F escaped as JSON requires; everything else (UTF-8) raw."""
    if not any(b < 0x20 or b in (0x22, 0x5C) for b in text):
        return text
    return b"".join(_ESCAPE_TABLE.get(b, bytes((b,))) for b in text)


class _Emitter:
    """The ``start_obj``/``value_s``/... lambdas of ``output_json``, indentation included."""

    def __init__(self, compat: bool) -> None:
        self.out: list[bytes] = []
        self.indent = 0
        self.compat = compat
        self.escape = escape_compat if compat else escape_json

    def _doindent(self) -> None:
        self.out.append(b"\t" * self.indent)

    def start_arr(self, name: str) -> None:
        self._doindent()
        self.out.append(b'"%s": [\n' % name.encode())
        self.indent += 1

    def end_arr(self, end: bool) -> None:
        self.indent -= 1
        self._doindent()
        self.out.append(b"]\n" if end else b"],\n")

    def start_obj(self, name: str | None) -> None:
        self._doindent()
        self.out.append(b'"%s": {\n' % name.encode() if name else b"{\n")
        self.indent += 1

    def end_obj(self, end: bool) -> None:
        self.indent -= 1
        self._doindent()
        self.out.append(b"}\n" if end else b"},\n")

    def _start_value(self, name: str) -> None:
        self._doindent()
        self.out.append(b'"%s": ' % name.encode())

    def _end_value(self, end: bool) -> None:
        self.out.append(b"\n" if end else b",\n")

    def value_s(self, name: str, val: bytes | str, end: bool) -> None:
        if isinstance(val, str):
            val = val.encode("utf-8", "surrogateescape")  # a path from argv may not be UTF-8
        if not self.compat and not is_valid(val):
            val = val.decode("utf-8", "replace").encode("utf-8")
        self._start_value(name)
        self.out.append(b'"' + self.escape(val) + (b'"\n' if end else b'",\n'))

    def value_raw(self, name: str, text: str, end: bool) -> None:
        self._start_value(name)
        self.out.append(text.encode())
        self._end_value(end)

    def value_i(self, name: str, val: int, end: bool) -> None:
        self.value_raw(name, "%d" % val, end)

    def value_b(self, name: str, val: bool, end: bool) -> None:
        self.value_raw(name, "true" if val else "false", end)

    def times_o(self, t0: int, t1: int, end: bool) -> None:
        """``t0``/``t1`` in ticks, as whisper-cli passes them."""
        self.start_obj("timestamps")
        self.value_s("from", timestamp(t0 * 10, comma=True), False)
        self.value_s("to", timestamp(t1 * 10, comma=True), True)
        self.end_obj(False)
        self.start_obj("offsets")
        self.value_i("from", t0 * 10, False)
        self.value_i("to", t1 * 10, True)
        self.end_obj(end)


def _write(transcript, fp: BinaryIO, ctx, full: bool) -> None:
    compat = ctx.compat
    segments = transcript.segments
    texts = [seg.text_bytes for seg in segments] if compat else repair_chunks([s.text_bytes for s in segments])
    token_lists = []
    if full:
        token_lists = [merge_split_tokens(seg.tokens, stop_at_special=not compat) for seg in segments]
        if not compat:
            token_lists = repair_token_lists(token_lists)
    diarize = ctx.speakers is not None
    tdrz = ctx.tinydiarize
    info = ctx.model_info

    e = _Emitter(compat)
    e.start_obj(None)
    e.value_s("systeminfo", ctx.system_info, False)
    e.start_obj("model")
    e.value_s("type", info["type"], False)
    e.value_b("multilingual", info["multilingual"], False)
    e.value_i("vocab", info["vocab"], False)
    for part in ("audio", "text"):
        e.start_obj(part)
        e.value_i("ctx", info[part]["ctx"], False)
        e.value_i("state", info[part]["state"], False)
        e.value_i("head", info[part]["head"], False)
        e.value_i("layer", info[part]["layer"], True)
        e.end_obj(False)
    e.value_i("mels", info["mels"], False)
    e.value_i("ftype", info["ftype"], True)
    e.end_obj(False)
    e.start_obj("params")
    e.value_s("model", ctx.model_path, False)
    e.value_s("language", ctx.language_arg, False)
    e.value_b("translate", ctx.translate, True)
    e.end_obj(False)
    e.start_obj("result")
    e.value_s("language", transcript.language, True)
    e.end_obj(False)
    e.start_arr("transcription")
    n_segments = len(segments)
    for i, seg in enumerate(segments):
        t0, t1 = ticks(seg.start_ms), ticks(seg.end_ms)
        e.start_obj(None)
        e.times_o(t0, t1, False)
        e.value_s("text", texts[i], not diarize and not tdrz and not full)
        if full:
            e.start_arr("tokens")
            tokens = token_lists[i]
            for j, tok in enumerate(tokens):
                e.start_obj(None)
                e.value_s("text", tok.text_bytes, False)
                if tok.start_ms is not None and tok.end_ms is not None:
                    e.times_o(token_ticks(tok.start_ms), token_ticks(tok.end_ms), False)
                e.value_i("id", tok.id, False)
                e.value_raw("p", float_g(tok.p), False)
                e.value_raw("t_dtw", float32_g(float(token_ticks(tok.dtw_ms))), True)
                e.end_obj(j == len(tokens) - 1)
            e.end_arr(not diarize and not tdrz)
        if diarize:
            e.value_s("speaker", speaker_id(ctx, i), True)
        if tdrz:
            e.value_b("speaker_turn_next", seg.speaker_turn_next, True)
        e.end_obj(i == n_segments - 1)
    e.end_arr(True)
    e.end_obj(True)
    fp.write(b"".join(e.out))


def write(transcript, fp: BinaryIO, ctx) -> None:
    """``-oj``."""
    _write(transcript, fp, ctx, full=False)


def write_full(transcript, fp: BinaryIO, ctx) -> None:
    """``-ojf``: with per-token entries."""
    _write(transcript, fp, ctx, full=True)
