"""Every time and number format the writers use, in one place.

libwhisper counts time in 10 ms *ticks* and whisper-cli formats ticks with C
integer arithmetic (``examples/common-whisper.cpp`` ``to_timestamp``, ``output_lrc``)
or with ``std::ostream``'s default float format (6 significant digits, ``%g``).
Our records hold milliseconds (always a multiple of 10, see ``whispercli.types``),
so each function takes milliseconds and converts back to ticks exactly.

Names say their unit: ``*_ms`` arguments are milliseconds.
"""

from __future__ import annotations

import math
import struct

__all__ = [
    "ticks",
    "token_ticks",
    "timestamp",
    "lrc_timestamp",
    "seconds_g",
    "float_g",
    "float32_g",
    "to_float32",
]


def _cdiv(a: int, b: int) -> int:
    """C/C++ integer division (truncates toward zero; Python's ``//`` floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def ticks(ms: int) -> int:
    """Milliseconds -> libwhisper's 10 ms ticks (exact for libwhisper's values)."""
    return _cdiv(int(ms), 10)


def token_ticks(ms: int | None) -> int:
    """A token time in ticks, ``-1`` where libwhisper has none (``None``)."""
    return -1 if ms is None else ticks(ms)


def timestamp(ms: int, comma: bool = False) -> str:
    """``HH:MM:SS.mmm`` (``HH:MM:SS,mmm`` with ``comma``), like whisper-cli's ``to_timestamp``.

    Hours are not wrapped and take as many digits as they need (at least 2).
    Works on ticks, as whisper-cli does, so a value that is not a multiple of
    10 ms is truncated the same way whisper-cli would have truncated it.
    """
    msec = ticks(ms) * 10
    hr = _cdiv(msec, 1000 * 60 * 60)
    msec -= hr * (1000 * 60 * 60)
    minutes = _cdiv(msec, 1000 * 60)
    msec -= minutes * (1000 * 60)
    sec = _cdiv(msec, 1000)
    msec -= sec * 1000
    return "%02d:%02d:%02d%s%03d" % (hr, minutes, sec, "," if comma else ".", msec)


def lrc_timestamp(ms: int) -> str:
    """``MM:SS.cc`` as whisper-cli's ``output_lrc`` writes it: minutes run past 59, no hours."""
    msec = ticks(ms) * 10
    minutes = _cdiv(msec, 1000 * 60)
    msec -= minutes * (1000 * 60)
    sec = _cdiv(msec, 1000)
    msec -= sec * 1000
    return "%02d:%02d.%02d" % (minutes, sec, _cdiv(msec, 10))


def float_g(value: float) -> str:
    """A ``double`` through ``std::ostream <<`` with default flags: ``%g``, 6 significant digits."""
    if math.isnan(value):
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    return "%g" % value


def to_float32(value: float) -> float:
    """``value`` rounded to the nearest C ``float`` (what ``(float) x`` does)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def float32_g(value: float) -> str:
    """A C ``float`` through ``std::ostream <<``: rounded to float32 first, then ``%g``."""
    return float_g(to_float32(value))


def seconds_g(ms: int | None) -> str:
    """``t/100.0`` with ``t`` in ticks, as ``%g``: the ``enable='between(t,a,b)'`` times in .wts.

    ``None`` (no token timestamp) is tick ``-1``, printed ``-0.01`` as whisper-cli does.
    """
    return float_g(token_ticks(ms) / 100.0)
