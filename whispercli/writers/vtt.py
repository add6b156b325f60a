"""``.vtt`` (cli.cpp ``output_vtt``): ``WEBVTT``, then ``start --> end`` and ``[<v SpeakerN>]text`` per cue.

Differences from whisper-cli (both undone by ``ctx.compat``, which writes
whisper-cli's exact bytes):

* **Escaping.**  whisper-cli writes cue text raw, so ``&``, ``<`` and ``>`` in
  a transcript are read as markup by players, and a ``-->`` in the text is
  forbidden by the WebVTT spec (a cue's text may not contain ``-->``).  We
  write ``&amp;``, ``&lt;`` and ``&gt;`` (as the spec's escapes); escaping
  ``>`` also rules out ``-->``.  The ``<v SpeakerN>`` voice tag of ``-di`` is
  our own markup and stays unescaped.
* **UTF-8 repair** (see ``_utf8``).
"""

from __future__ import annotations

from typing import BinaryIO

from ._common import prepare, speaker_id
from ._timefmt import timestamp


def escape_cue_text(text: bytes) -> bytes:
    """WebVTT cue-text escaping: ``&`` ``<`` ``>`` -> ``&amp;`` ``&lt;`` ``&gt;`` (``&`` first)."""
    return text.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")


def write(transcript, fp: BinaryIO, ctx) -> None:
    transcript = prepare(transcript, ctx)
    out = [b"WEBVTT\n\n"]
    for i, seg in enumerate(transcript.segments):
        sid = speaker_id(ctx, i)
        voice = b"" if sid is None else b"<v Speaker" + sid.encode() + b">"
        text = seg.text_bytes if ctx.compat else escape_cue_text(seg.text_bytes)
        out.append(b"%s --> %s\n%s%s\n\n" % (
            timestamp(seg.start_ms).encode(), timestamp(seg.end_ms).encode(), voice, text))
    fp.write(b"".join(out))
