"""``.lrc`` (cli.cpp ``output_lrc``): ``[by:whisper.cpp]`` then ``[MM:SS.cc][(speaker N)]text`` per segment.

Start times only, in centiseconds; minutes run past 59 (no hours field).  Differs
from whisper-cli only in UTF-8 repair (off with ``ctx.compat``).
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import prepare, speaker_label
from ._timefmt import lrc_timestamp


def write(transcript, fp: BinaryIO, ctx) -> None:
    transcript = prepare(transcript, ctx)
    out = [b"[by:whisper.cpp]\n"]
    for i, seg in enumerate(transcript.segments):
        out.append(b"[" + lrc_timestamp(seg.start_ms).encode() + b"]" + speaker_label(ctx, i) + seg.text_bytes + b"\n")
    fp.write(b"".join(out))
