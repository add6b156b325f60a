"""Helpers shared by the writers (no I/O, no native code)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._utf8 import repair_transcript

if TYPE_CHECKING:
    from ..types import Transcript
    from . import OutputContext


def prepare(transcript: Transcript, ctx: OutputContext) -> Transcript:
    """The transcript a writer formats: UTF-8-repaired unless ``ctx.compat``."""
    return transcript if ctx.compat else repair_transcript(transcript)


def speaker_id(ctx: OutputContext, index: int) -> str | None:
    """``"0"``/``"1"``/``"?"`` for segment ``index`` with ``-di``, else None."""
    if ctx.speakers is None:
        return None
    return ctx.speakers[index]


def speaker_label(ctx: OutputContext, index: int) -> bytes:
    """``b"(speaker N)"`` as txt, srt, lrc, wts and stdout write it; ``b""`` without ``-di``."""
    sid = speaker_id(ctx, index)
    return b"" if sid is None else b"(speaker " + sid.encode() + b")"
