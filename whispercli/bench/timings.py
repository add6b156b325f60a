"""Reading libwhisper's timings after a run.

``whisper_get_timings`` (through the ``whispercli_get_timings`` shim) gives the
per-run milliseconds of the five phases, and that is read through the API.  What
libwhisper 1.9.1 keeps only in ``whisper_state``/``whisper_context`` internals and
shows nowhere but in ``whisper_print_timings``'s log block still comes from the log:
the run counts per phase, the mel time, the model load time and the temperature
fallbacks.  (A shim cannot read them: the structs are private to whisper.cpp, and a
patch adding an accessor would vanish with ``WHISPERCLI_PATCHES=0``.)
"""

from __future__ import annotations

import logging
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator, Sequence

from .records import PHASES


@dataclass(frozen=True)
class RunTimings:
    """libwhisper's timings of a context's default state since the last reset."""

    per_run_ms: dict[str, float]  # phase (PHASES) -> ms per run, from whisper_get_timings
    runs: dict[str, int] | None  # phase -> run count (0 if it never ran); None if the log had no block
    mel_ms: float | None  # total mel time
    fallbacks: tuple[int, int] | None  # temperature fallbacks: (logprob, entropy)


def read_timings(native, ctx, *, from_log: bool = True) -> RunTimings:
    """The timings of ``ctx``'s default state; ``from_log=False`` reads only what the API gives."""
    api = native.timings(ctx)
    per_run = {p: api[f"{p}_ms"] for p in PHASES}
    if not from_log:
        return RunTimings(per_run, None, None, None)
    block = _timing_block(native, ctx)
    runs: dict[str, int] | None = {}
    for p in PHASES:
        if p not in block or "runs" not in block[p]:
            runs = None
            break
        # libwhisper prints max(1, n) runs: a phase that never ran shows "1 run" (its per-run time is 0).
        runs[p] = block[p]["runs"] if per_run[p] > 0.0 else 0
    return RunTimings(per_run, runs, block.get("mel", {}).get("total"), block.get("fallbacks"))


def load_ms(native, ctx) -> float | None:
    """libwhisper's model load time for ``ctx`` (whisper-bench's "load time"; log only)."""
    return _timing_block(native, ctx).get("load", {}).get("total")

_TIMING_LINE = re.compile(
    r"whisper_print_timings:\s+(?P<name>\w+) time =\s*(?P<total>[-\d.]+) ms"
    r"(?: /\s*(?P<runs>\d+) runs \(\s*(?P<per_run>[-\d.]+) ms per run\))?"
)
_FALLBACK_LINE = re.compile(r"whisper_print_timings:\s+fallbacks =\s*(?P<p>\d+) p /\s*(?P<h>\d+) h")


def parse_timings(lines: Sequence[str]) -> dict:
    """``whisper_print_timings``'s block -> ``{"load": {"total": ms}, "encode": {"total", "runs", "per_run"}, ...}``.

    Also parses whisper-bench's stderr (the same lines); ``"fallbacks"`` is ``(p, h)``.
    """
    out: dict = {}
    for line in lines:
        m = _TIMING_LINE.search(line)
        if m:
            entry = {"total": float(m.group("total"))}
            if m.group("runs") is not None:
                entry["runs"] = int(m.group("runs"))
                entry["per_run"] = float(m.group("per_run"))
            out[m.group("name")] = entry
            continue
        m = _FALLBACK_LINE.search(line)
        if m:
            out["fallbacks"] = (int(m.group("p")), int(m.group("h")))
    return out


@contextmanager
def _capture_whisper_log() -> Iterator[list[str]]:
    """Collect this thread's whisper.cpp log lines (logger ``whispercli.whisper``).

    (See the module docstring for what exists only in that block.)  When nobody listens to INFO the block is captured without
    reaching other handlers; with ``-v`` it is shown as well, as whisper-bench does.
    """
    logger = logging.getLogger("whispercli.whisper")
    lines: list[str] = []
    me = threading.get_ident()

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.thread == me:
                lines.append(record.getMessage())

    handler = _Collect(logging.DEBUG)
    old_level, old_propagate = logger.level, logger.propagate
    quiet = not logger.isEnabledFor(logging.INFO)
    logger.addHandler(handler)
    if quiet:
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        if quiet:
            logger.setLevel(old_level)
            logger.propagate = old_propagate


# Captures change the logger's level/propagation: one at a time (print_timings takes microseconds).
_capture_lock = threading.Lock()


def _timing_block(native, ctx) -> dict:
    with _capture_lock, _capture_whisper_log() as lines:
        native.print_timings(ctx)
    return parse_timings(lines)
