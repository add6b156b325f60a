"""``.score.txt`` (cli.cpp ``output_score``, ``-ls``): ``token<TAB>p`` for every token, specials included.

``p`` is a C ``float`` through ``std::ostream`` (``%g``, 6 significant digits).
Differs from whisper-cli only in UTF-8 repair (off with ``ctx.compat``): a
character split between tokens moves to the token where it ends, so the line
count and the probabilities stay as they are.
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import prepare
from ._timefmt import float_g


def write(transcript, fp: BinaryIO, ctx) -> None:
    transcript = prepare(transcript, ctx)
    fp.write(b"".join(
        tok.text_bytes + b"\t" + float_g(tok.p).encode() + b"\n"
        for seg in transcript.segments for tok in seg.tokens
    ))
