"""``.csv`` (cli.cpp ``output_csv``): ``start,end[,speaker],text`` with integer milliseconds.

The text is always double-quoted, ``"`` doubled (RFC 4180), leading space kept.
Differs from whisper-cli only in UTF-8 repair (off with ``ctx.compat``).
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import prepare, speaker_id
from ._timefmt import ticks


def escape_csv(text: bytes) -> bytes:
    """cli.cpp ``escape_double_quotes_in_csv``: ``"`` -> ``""``."""
    return text.replace(b'"', b'""')


def write(transcript, fp: BinaryIO, ctx) -> None:
    transcript = prepare(transcript, ctx)
    diarize = ctx.speakers is not None
    out = [b"start,end,speaker,text\n" if diarize else b"start,end,text\n"]
    for i, seg in enumerate(transcript.segments):
        row = b"%d,%d," % (10 * ticks(seg.start_ms), 10 * ticks(seg.end_ms))
        if diarize:
            row += speaker_id(ctx, i).encode() + b","
        out.append(row + b'"' + escape_csv(seg.text_bytes) + b'"\n')
    fp.write(b"".join(out))
