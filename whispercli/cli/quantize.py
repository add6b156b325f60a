"""Placeholder: being written."""

from __future__ import annotations

import typer


def quantize() -> None:
    """Not available yet."""
    raise typer.Exit(1)
