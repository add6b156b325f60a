"""The segment lines whisper-cli prints on stdout while it decodes (cli.cpp ``whisper_print_segment_callback``).

Who prints what:

* whisper-cli prints ``\\n`` (:data:`FIRST_SEGMENT_PREFIX`) right before the
  first segment (index 0) of each file, then for each segment, as it arrives:

  - ``[HH:MM:SS.mmm --> HH:MM:SS.mmm]  `` (two spaces) unless ``-nt``;
  - ``(speaker N)`` with ``-di``;
  - the segment text (with libwhisper's leading space), or with ``-pc`` /
    ``--print-confidence`` each token wrapped in an ANSI colour / style and
    ``\\033[0m`` (special tokens only with ``-ps``);
  - `` [SPEAKER_TURN]`` with ``-tdrz`` when the next segment is another speaker;
  - ``\\n`` unless ``-nt`` (with ``-nt -di`` still ``\\n``).

  It prints nothing on stdout when the output goes to stdout (``-of -``), and
  nothing before index 0 when there are no segments.
* :func:`segment_line` returns one segment's bytes, without the prefix;
  :class:`LivePrinter` adds the prefix before index 0 and (unless ``compat``)
  repairs UTF-8 across segments.  The caller writes the bytes to stdout and
  flushes, as whisper-cli does after each segment.

Differences from whisper-cli (``LiveOptions.compat=True`` restores its bytes):

* ``-pc`` / ``--print-confidence`` with ``-di``: whisper-cli repeats
  ``(speaker N)`` before *every token* (it prints the speaker inside the token
  loop); we print it once, before the first token.
* UTF-8: a character split between tokens or segments is written whole where it
  ends, and bytes that cannot be completed become U+FFFD (see ``_utf8``).  With
  :class:`LivePrinter`, an incomplete character at the very end of a file is
  dropped (the line has already been printed); the files show it as U+FFFD.
"""

from __future__ import annotations

import codecs
import math
from dataclasses import dataclass, replace

from ._timefmt import timestamp
from ._utf8 import repair_chunks, repair_token_lists

#: whisper-cli prints this before the first segment of each file.
FIRST_SEGMENT_PREFIX = b"\n"
RESET = b"\033[0m"
#: ``k_colors`` (examples/common.h): Paul Tol's red -> green scale as xterm-256 codes.
COLORS = tuple(b"\033[38;5;%dm" % code for code in (160, 166, 208, 215, 227, 114, 71))
#: ``k_styles``: inverse (p < 0.33), underline (p < 0.66), dim.
STYLES = (b"\033[7m", b"\033[4m", b"\033[2m")
SPEAKER_TURN = b" [SPEAKER_TURN]"


@dataclass(frozen=True)
class LiveOptions:
    no_timestamps: bool = False  # -nt
    diarize: bool = False  # -di (the speaker itself is passed per segment)
    print_colors: bool = False  # -pc
    print_confidence: bool = False  # --print-confidence (ignored with -pc)
    print_special: bool = False  # -ps: special tokens in the -pc / --print-confidence output
    tinydiarize: bool = False  # -tdrz
    compat: bool = False  # whisper-cli's exact bytes (repeated speaker with -pc, raw UTF-8)


def color_index(p: float) -> int:
    """``clamp((int) (pow(p, 3) * 7), 0, 6)``, the ``-pc`` colour for probability ``p``."""
    if math.isnan(p):
        return 0
    raw = p ** 3 * float(len(COLORS))
    if raw >= len(COLORS):
        return len(COLORS) - 1
    return max(0, int(raw))


def style_index(p: float) -> int:
    """The ``--print-confidence`` style: 0 (p < 0.33), 1 (p < 0.66), else 2."""
    if p < 0.33:
        return 0
    if p < 0.66:
        return 1
    return 2


def segment_line(segment, opts: LiveOptions, speaker: str | None = None) -> bytes:
    """What whisper-cli prints for ``segment`` (without :data:`FIRST_SEGMENT_PREFIX`).

    ``speaker`` is ``"0"``, ``"1"`` or ``"?"`` (``whispercli.diarize``), used with ``opts.diarize``.
    """
    out = []
    if not opts.no_timestamps:
        out.append(b"[%s --> %s]  " % (timestamp(segment.start_ms).encode(), timestamp(segment.end_ms).encode()))
    label = b"(speaker " + speaker.encode() + b")" if opts.diarize and speaker is not None else b""
    if opts.print_colors or opts.print_confidence:
        tokens = segment.tokens if opts.compat else repair_token_lists([segment.tokens])[0]
        if not opts.compat:
            out.append(label)
        for tok in tokens:
            if tok.is_special and not opts.print_special:
                continue
            style = COLORS[color_index(tok.p)] if opts.print_colors else STYLES[style_index(tok.p)]
            out.append((label if opts.compat else b"") + style + tok.text_bytes + RESET)
    else:
        text = segment.text_bytes if opts.compat else repair_chunks([segment.text_bytes])[0]
        out.append(label + text)
    if opts.tinydiarize and segment.speaker_turn_next:
        out.append(SPEAKER_TURN)
    if not opts.no_timestamps or opts.diarize:
        out.append(b"\n")
    return b"".join(out)


_Decoder = codecs.getincrementaldecoder("utf-8")


def _split_incomplete_tail(data: bytes) -> tuple[bytes, bytes]:
    """``(head, tail)`` where ``tail`` is an incomplete (but so far valid) final character."""
    decoder = _Decoder("replace")
    decoder.decode(data, False)
    pending = decoder.getstate()[0]
    return (data[: len(data) - len(pending)], pending) if pending else (data, b"")


class LivePrinter:
    """whisper-cli's stdout for one file, segment by segment, in arrival order.

    Adds :data:`FIRST_SEGMENT_PREFIX` before segment 0.  Unless ``compat``, an
    incomplete character at the end of a segment (text and tokens alike) is held
    back and printed at the start of the next one, where its last bytes arrive.
    """

    def __init__(self, opts: LiveOptions) -> None:
        self.opts = opts
        self._text_carry = b""
        self._token_carry = b""

    def segment(self, segment, speaker: str | None = None) -> bytes:
        prefix = b""
        if segment.index == 0:
            prefix = FIRST_SEGMENT_PREFIX
            self._text_carry = self._token_carry = b""
        if not self.opts.compat:
            segment = self._carry(segment)
        return prefix + segment_line(segment, self.opts, speaker)

    def finish(self) -> bytes:
        """End of the file: drops an incomplete trailing character (see the module doc)."""
        self._text_carry = self._token_carry = b""
        return b""

    def _carry(self, segment):
        text, self._text_carry = _split_incomplete_tail(self._text_carry + segment.text_bytes)
        tokens = list(segment.tokens)
        text_idx = [j for j, tok in enumerate(tokens) if not tok.is_special]
        if text_idx:
            first, last = text_idx[0], text_idx[-1]
            tokens[first] = replace(tokens[first], text_bytes=self._token_carry + tokens[first].text_bytes)
            head, self._token_carry = _split_incomplete_tail(tokens[last].text_bytes)
            tokens[last] = replace(tokens[last], text_bytes=head)
        if text == segment.text_bytes and tokens == list(segment.tokens):
            return segment
        return replace(segment, text_bytes=text, tokens=tuple(tokens))
