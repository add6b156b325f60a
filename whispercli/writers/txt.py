"""``.txt``: one line per segment, ``[(speaker N)]text``, no timestamps (cli.cpp ``output_txt``).

The text keeps libwhisper's leading space, as whisper-cli v1.9.1 does.  Differs
from whisper-cli only in UTF-8 repair (see ``_utf8``; off with ``ctx.compat``).
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import prepare, speaker_label


def write(transcript, fp: BinaryIO, ctx) -> None:
    transcript = prepare(transcript, ctx)
    fp.write(b"".join(
        speaker_label(ctx, i) + seg.text_bytes + b"\n" for i, seg in enumerate(transcript.segments)
    ))
