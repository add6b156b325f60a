"""``.wts`` (cli.cpp ``output_wts``, ``-owts``): a bash script that renders a karaoke video with ffmpeg.

For each segment: a grey ``drawtext`` with the whole text, and for each text
token a light-green copy with that token highlighted (``|`` after it) and an
underline row; ``enable='between(t,a,b)'`` times are ticks / 100 printed as
``%g``.  ``'`` becomes ``’`` and ``"`` becomes ``\\"``.  The video length is
``(n_samples + 1000) / SAMPLE_RATE`` s computed in C ``float``.

whisper-cli quotes neither the paths nor shell/filter metacharacters in the
text; we keep that (changing it would change every file), so run the script
only on transcripts and paths you trust.  Differs from whisper-cli only in
UTF-8 repair (off with ``ctx.compat``).

A missing font raises :class:`~whispercli.errors.OutputError` with whisper-cli's
message before anything is written (whisper-cli leaves an empty file and exits 0;
the caller decides).
"""

from __future__ import annotations

import os
from typing import BinaryIO

from ..constants import SAMPLE_RATE
from ..errors import OutputError
from ._common import prepare, speaker_label
from ._timefmt import float32_g, seconds_g, to_float32


def check_font(font_path: str) -> None:
    """Raise unless whisper-cli's ``std::ifstream fin(font)`` would open the font."""
    if not (os.path.exists(font_path) and os.access(font_path, os.R_OK)):
        raise OutputError(f"font not found at '{font_path}', please specify a monospace font with -fp")


def video_seconds(n_samples: int) -> str:
    """``float(pcmf32.size() + 1000)/WHISPER_SAMPLE_RATE`` through ``std::ostream``."""
    return float32_g(to_float32(float(n_samples + 1000)) / SAMPLE_RATE)


def _quote_text(text: bytes) -> bytes:
    return text.replace(b"'", "\u2019".encode()).replace(b'"', b'\\"')


def write(transcript, fp: BinaryIO, ctx) -> None:
    check_font(ctx.font_path)
    transcript = prepare(transcript, ctx)
    font = os.fsencode(ctx.font_path)
    inp = os.fsencode(ctx.input_path)
    diarize = ctx.speakers is not None

    def drawtext(color: bytes, x: bytes, y: bytes, text: bytes, a: str, b: str) -> bytes:
        return (b"drawtext=fontfile='" + font + b"':fontsize=24:fontcolor=" + color + b":x=" + x + b":y=" + y
                + b":text='" + text + b"':enable='between(t," + a.encode() + b"," + b.encode() + b")'")

    out = [b"#!/bin/bash\n\n"]
    out.append(b"ffmpeg -i " + inp + b" -f lavfi -i color=size=1200x120:duration="
               + video_seconds(ctx.n_samples).encode() + b":rate=25:color=black -vf \"")
    for i, seg in enumerate(transcript.segments):
        t0, t1 = seconds_g(seg.start_ms), seconds_g(seg.end_ms)
        if i > 0:
            out.append(b",")
        out.append(drawtext(b"gray", b"(w-text_w)/2", b"h/2", b"", t0, t0))
        speaker = speaker_label(ctx, i)
        texts = [(j, tok.text_bytes) for j, tok in enumerate(seg.tokens) if not tok.is_special]
        is_first = True
        for j, tok in enumerate(seg.tokens):
            if tok.is_special:
                continue
            txt_bg = speaker + b"> "
            txt_fg = speaker + b"> "
            txt_ul = (b"\\ " * 11 if diarize else b"") + b"\\ \\ "
            for k, txt in texts:
                txt_bg += txt
                if k == j:
                    txt_fg += txt + b"|"
                    txt_ul += b"_" * len(txt)
                else:
                    txt_fg += b"\\ " * len(txt)
                    txt_ul += b"\\ " * len(txt)
            txt_bg, txt_fg = _quote_text(txt_bg), _quote_text(txt_fg)
            if is_first:
                out.append(b"," + drawtext(b"gray", b"(w-text_w)/2", b"h/2", txt_bg, t0, t1))
                is_first = False
            a, b = seconds_g(tok.start_ms), seconds_g(tok.end_ms)
            out.append(b"," + drawtext(b"lightgreen", b"(w-text_w)/2+8", b"h/2", txt_fg, a, b))
            out.append(b"," + drawtext(b"lightgreen", b"(w-text_w)/2+8", b"h/2+16", txt_ul, a, b))
    out.append(b"\" -c:v libx264 -pix_fmt yuv420p -y " + inp + b".mp4\n")
    out.append(b"\n\n")
    out.append(b"echo \"Your video has been saved to " + inp + b".mp4\"\n")
    out.append(b"\n")
    out.append(b"echo \"  ffplay " + inp + b".mp4\"\n")
    out.append(b"\n")
    fp.write(b"".join(out))
