"""``.srt`` (cli.cpp ``output_srt``): ``N\\nHH:MM:SS,mmm --> HH:MM:SS,mmm\\n[(speaker N)]text\\n\\n``.

Cue numbers start at ``ctx.offset_n + 1`` (``-on``).  One text line per cue, no
wrapping.  Differs from whisper-cli only in UTF-8 repair (off with ``ctx.compat``).
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import prepare, speaker_label
from ._timefmt import timestamp


def write(transcript, fp: BinaryIO, ctx) -> None:
    transcript = prepare(transcript, ctx)
    out = []
    for i, seg in enumerate(transcript.segments):
        out.append(b"%d\n%s --> %s\n%s%s\n\n" % (
            i + 1 + ctx.offset_n,
            timestamp(seg.start_ms, comma=True).encode(),
            timestamp(seg.end_ms, comma=True).encode(),
            speaker_label(ctx, i),
            seg.text_bytes,
        ))
    fp.write(b"".join(out))
