"""Where output goes: results to stdout, everything else to stderr."""

from __future__ import annotations

import sys


# what str.splitlines() (and a terminal, for most) takes as a line break, shown escaped instead: a
# message quotes user input (a grammar, a file name) and must stay one line
_LINE_BREAKS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def err(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write(message.rstrip("\n").translate(_LINE_BREAKS) + "\n")
    sys.stderr.flush()


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def stderr_console():
    """A rich Console on stderr (imported lazily: rich is not needed for --help)."""
    from rich.console import Console

    return Console(stderr=True)
