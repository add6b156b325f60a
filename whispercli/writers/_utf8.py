"""Make a transcript's bytes valid UTF-8 before it is written.

Whisper's tokens are byte-level BPE: one multibyte character ("日" is
``E6 97 A5``) can be split between two tokens, and when libwhisper ends a
segment between those tokens, between two *segments*.  whisper-cli writes the
bytes as they are, so its txt/srt/vtt/json files can contain invalid UTF-8
(#1798, #3760).  Its json-full writer merges split tokens, but only within a
segment.

:func:`repair_chunks` is the rule every writer applies (unless
``OutputContext.compat``):

* an incomplete sequence at the end of a chunk moves to the start of the next
  chunk when the bytes that follow complete it (the character goes where it
  ends);
* anything that cannot be completed, and any other invalid byte, becomes
  U+FFFD where it stands (one U+FFFD per maximal invalid subpart, as Python's
  decoder and the Unicode standard do it).

Valid input is returned unchanged, so repairing never alters a transcript that
whisper-cli writes correctly.
"""

from __future__ import annotations

import codecs
from dataclasses import replace
from typing import Sequence

from ..types import Segment, Token, Transcript

__all__ = [
    "trailing_bytes_needed",
    "is_valid",
    "repair_chunks",
    "repair_token_lists",
    "repair_segments",
    "repair_transcript",
    "merge_split_tokens",
]

_Decoder = codecs.getincrementaldecoder("utf-8")


def trailing_bytes_needed(data: bytes) -> int:
    """Bytes still needed for ``data`` to end on a complete character.

    A port of ``utf8_trailing_bytes_needed`` (examples/common-whisper.cpp), which
    whisper-cli's json-full writer uses to merge tokens; it looks only at the last
    lead byte and does not validate.
    """
    i = len(data) - 1
    while i >= 0 and (data[i] & 0xC0) == 0x80:
        i -= 1
    if i < 0:
        return 0
    c = data[i]
    if (c & 0x80) == 0x00:
        expected = 1
    elif (c & 0xE0) == 0xC0:
        expected = 2
    elif (c & 0xF0) == 0xE0:
        expected = 3
    elif (c & 0xF8) == 0xF0:
        expected = 4
    else:
        return 0
    have = len(data) - i
    return 0 if have >= expected else expected - have


def is_valid(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _sequence_length(lead: int) -> int:
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 1


def _completes(pending: bytes, following: bytes) -> bool:
    """Whether ``following`` (the bytes after ``pending``) completes its character."""
    candidate = (pending + following)[: _sequence_length(pending[0])]
    if len(candidate) < _sequence_length(pending[0]):
        return False
    return is_valid(candidate)


def _following_bytes(chunks: Sequence[bytes], start: int, want: int = 3) -> bytes:
    got = b""
    for chunk in chunks[start:]:
        got += chunk
        if len(got) >= want:
            break
    return got


def repair_chunks(chunks: Sequence[bytes]) -> list[bytes]:
    """Valid UTF-8 for each chunk, moving split characters forward (see module doc)."""
    out: list[bytes] = []
    carry = b""
    for i, chunk in enumerate(chunks):
        data = carry + chunk if carry else chunk
        carry = b""
        if is_valid(data):  # the common case, and it keeps valid input byte-identical
            out.append(data)
            continue
        decoder = _Decoder("replace")
        text = decoder.decode(data, False)
        pending = decoder.getstate()[0]
        if pending:
            if _completes(pending, _following_bytes(chunks, i + 1)):
                carry = pending
            else:
                text += decoder.decode(b"", True)  # U+FFFD, here where it stands
        out.append(text.encode("utf-8"))
    return out


def repair_token_lists(token_lists: Sequence[Sequence[Token]]) -> list[tuple[Token, ...]]:
    """Repair token texts across a whole transcript (one token list per segment).

    Text tokens form one stream, in order, across segment boundaries; special
    tokens (``[_BEG_]``, ``[_TT_n]``, ...) are skipped over, so a character split
    around a timestamp token is still joined.  Token count and order never change.
    """
    flat = [(s, j) for s, tokens in enumerate(token_lists) for j, tok in enumerate(tokens) if not tok.is_special]
    repaired = repair_chunks([token_lists[s][j].text_bytes for s, j in flat])
    result = [list(tokens) for tokens in token_lists]
    for (s, j), text in zip(flat, repaired):
        if text != result[s][j].text_bytes:
            result[s][j] = replace(result[s][j], text_bytes=text)
    for tokens in result:
        for j, tok in enumerate(tokens):
            if tok.is_special and not is_valid(tok.text_bytes):
                tokens[j] = replace(tok, text_bytes=tok.text_bytes.decode("utf-8", "replace").encode("utf-8"))
    return [tuple(tokens) for tokens in result]


def repair_segments(segments: Sequence[Segment]) -> tuple[Segment, ...]:
    """Segments whose ``text_bytes`` and token texts are all valid UTF-8."""
    texts = repair_chunks([seg.text_bytes for seg in segments])
    tokens = repair_token_lists([seg.tokens for seg in segments])
    out = []
    for seg, text, toks in zip(segments, texts, tokens):
        if text != seg.text_bytes or toks != seg.tokens:
            seg = replace(seg, text_bytes=text, tokens=toks)
        out.append(seg)
    return tuple(out)


def repair_transcript(transcript: Transcript) -> Transcript:
    """``transcript`` with every segment and token text valid UTF-8 (itself if already valid)."""
    segments = repair_segments(transcript.segments)
    if segments == transcript.segments:
        return transcript
    return replace(transcript, segments=segments)


def merge_split_tokens(tokens: Sequence[Token], *, stop_at_special: bool = False) -> list[Token]:
    """whisper-cli's json-full token merge (cli.cpp ``output_json``, the fix for #1798).

    While a token's bytes end inside a character, the following tokens of the same
    segment are appended to it; the merged token keeps the first token's id, p,
    t0 and t_dtw and takes the last known t1.  whisper-cli also swallows special
    tokens this way (``"\\xe6\\x97[_TT_50]"``); ``stop_at_special`` stops before
    them instead, leaving the split for :func:`repair_token_lists`.
    """
    merged: list[Token] = []
    j, n = 0, len(tokens)
    while j < n:
        first = tokens[j]
        text, end_ms = first.text_bytes, first.end_ms
        j += 1
        while j < n and trailing_bytes_needed(text) > 0:
            nxt = tokens[j]
            if stop_at_special and nxt.is_special:
                break
            text += nxt.text_bytes
            if nxt.end_ms is not None:
                end_ms = nxt.end_ms
            j += 1
        if text is first.text_bytes and end_ms == first.end_ms:
            merged.append(first)
        else:
            merged.append(replace(first, text_bytes=text, end_ms=end_ms))
    return merged
