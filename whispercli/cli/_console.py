"""Where output goes: results to stdout, everything else to stderr."""

from __future__ import annotations

import sys


def err(message: str) -> None:
    """One line on stderr."""
    sys.stderr.write(message.rstrip("\n") + "\n")
    sys.stderr.flush()


def out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def stderr_console():
    """A rich Console on stderr (imported lazily: rich is not needed for --help)."""
    from rich.console import Console

    return Console(stderr=True)
