"""``whispercli detect-lang``: the spoken language of each input, with probabilities.

Output (stdout) per input, most likely first:

* plain (not a terminal): ``FILE<TAB>CODE<TAB>PROBABILITY`` lines, ``--top N`` of them
  per file (the file name comes first so `sort`/`cut` work);
* a terminal: a table;
* ``--json``: one JSON object per input and line, with every language's probability.
"""

from __future__ import annotations

import json
import os
import sys
from typing import List, Optional

import typer

from ..errors import AudioError, WhisperCliError
from ._console import err, out
from .exit_codes import ExitStatus, status_for


def detect_lang(
    inputs: List[str] = typer.Argument(..., metavar="FILE|DIR|GLOB|-...", help="Audio or video inputs; '-' reads stdin."),
    model: Optional[str] = typer.Option(None, "--model", "-m", show_default=False,
                                        help="A multilingual model: path or cached name (default: models/ggml-base.bin, "
                                             "then the cached base)."),
    threads: int = typer.Option(min(4, os.cpu_count() or 1), "--threads", "-t", help="Compute threads.",
                                 show_default="min(4, CPUs)"),
    offset_t: int = typer.Option(0, "--offset-t", "-ot", help="Start of the 30 s window, in ms."),
    top: int = typer.Option(1, "--top", "-n", min=1, help="Show the N most likely languages."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per input with all probabilities."),
    no_gpu: bool = typer.Option(False, "--no-gpu", "-ng", help="Disable the GPU."),
) -> None:
    """Detect the spoken language (needs a multilingual model)."""
    from ..model import Model
    from ..models.registry import resolve_model
    from ._inputs import expand_inputs

    items = expand_inputs(list(inputs))
    path = resolve_model(model, default_name="base")
    failures: list[WhisperCliError] = []
    rows: list[tuple[str, list]] = []
    table = sys.stdout.isatty() and not as_json
    with Model.load(path, use_gpu=not no_gpu) as loaded:
        for item in items:
            if item.error:
                failures.append(AudioError(item.error))
                err(f"whispercli: error: {item.error}")
                continue
            try:
                guesses = loaded.detect_language(item.name, offset_ms=offset_t, n_threads=threads)
            except AudioError as exc:
                failures.append(exc)
                err(f"whispercli: error: {exc}")
                continue
            if as_json:
                out(json.dumps({
                    "file": item.name,
                    "language": guesses[0].code,
                    "name": guesses[0].name,
                    "probability": round(guesses[0].probability, 6),
                    "offset_ms": offset_t,
                    "probabilities": {g.code: round(g.probability, 6) for g in guesses},
                }, ensure_ascii=False) + "\n")
            elif table:
                rows.append((item.name, guesses[:top]))
            else:
                out("".join(f"{item.name}\t{g.code}\t{g.probability:.4f}\n" for g in guesses[:top]))
    if rows:
        _print_table(rows)
    if failures:
        raise typer.Exit(int(status_for(failures[0]) if len(failures) == len(items) else ExitStatus.PARTIAL))


def _print_table(rows) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("file", "#", "code", "language", "probability"):
        table.add_column(column, justify="right" if column in ("#", "probability") else "left")
    for name, guesses in rows:
        for rank, g in enumerate(guesses, 1):
            table.add_row(name if rank == 1 else "", str(rank), g.code, g.name, f"{g.probability:.1%}")
    Console().print(table)
