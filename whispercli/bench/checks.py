"""The benchmark's argument checks: each bad value is one :class:`UsageError` line."""

from __future__ import annotations

from typing import Sequence

from ..errors import UsageError
from .records import WHAT_NAMES


def parse_threads(values: Sequence[str | int]) -> tuple[int, ...]:
    """``["1,2", "4"]`` -> ``(1, 2, 4)``; raises :class:`UsageError` on anything else."""
    out: list[int] = []
    for value in values:
        for part in str(value).split(","):
            part = part.strip()
            try:
                n = int(part)
            except ValueError:
                raise UsageError(f"bad thread count {part!r} in {str(value)!r} (expected e.g. 4 or 1,2,4)") from None
            if n < 1:
                raise UsageError(f"thread count must be at least 1, got {n}")
            if n not in out:
                out.append(n)
    if not out:
        raise UsageError("no thread count given")
    return tuple(out)


def check_what(what: int) -> None:
    """Raise :class:`UsageError` unless ``what`` is one of whisper-bench's ``-w`` values."""
    if what not in WHAT_NAMES:
        raise UsageError(f"unknown benchmark: {what} (-w 0 = whisper, 1 = memcpy, 2 = ggml_mul_mat)")


def check_positive(name: str, value: int) -> None:
    if value < 1:
        raise UsageError(f"{name} must be at least 1, got {value}")
