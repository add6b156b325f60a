"""Placeholder: being written."""

from __future__ import annotations

import typer


def download_model() -> None:
    """Not available yet."""
    raise typer.Exit(1)
