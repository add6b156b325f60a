"""``whispercli bench``: whisper-bench's measurements, sweeps, and real transcriptions.

``-w 0`` measures exactly what whisper-bench measures (same libwhisper calls, same
figures); ``-w 1``/``-w 2`` print libwhisper's memcpy / mul_mat text unchanged.
``--audio FILE`` times real transcriptions instead.  Results go to stdout (a table,
``--json``, ``--csv`` or ``--markdown``); progress goes to stderr.
"""

from __future__ import annotations

import os
import sys
from typing import List, Optional

import typer

from ..errors import UsageError
from ._console import err, out

P_BENCH = "Benchmark"
P_AUDIO = "Real transcription (--audio)"
P_OUT = "Output (stdout)"
P_HW = "Model and hardware"

MARKDOWN_HEADER = ("CPU", "OS", "Config", "Model", "Th", "FA", "Enc.", "Dec.", "Bch5", "PP", "Commit")
_MD_WIDTHS = (6, 6, 16, 13, 3, 3, 7, 7, 7, 7, 7)  # bench-all.sh's printf widths


def _opt(default, *decls, panel: str, help: str, **kw):
    show_default = kw.pop("show_default", True)
    return typer.Option(default, *decls, help=help, rich_help_panel=panel, show_default=show_default, **kw)


def bench(
    model: Optional[List[str]] = _opt(None, "--model", "-m", panel=P_HW, show_default=False,
                                      help="Model path or cached name; repeat to compare models "
                                           "(default: models/ggml-base.en.bin, then the cached base.en)."),
    threads: Optional[List[str]] = _opt(None, "--threads", "-t", panel=P_HW, show_default=False,
                                        help=f"Threads, or a comma list to sweep, e.g. 1,2,4 "
                                             f"(default: {min(4, os.cpu_count() or 1)})."),
    flash_attn: bool = _opt(True, "--flash-attn/--no-flash-attn", "-fa/-nfa", panel=P_HW, help="Flash attention."),
    no_gpu: bool = _opt(False, "--no-gpu", "-ng", panel=P_HW, help="Disable the GPU."),
    exact: bool = _opt(False, "--exact", panel=P_HW,
                       help="whisper.cpp v1.9.1's own numerics (whisper-cli's bytes) instead of the faster "
                            "tiled matrix products (bf16 on CPUs with AVX512-BF16)."),
    what: int = _opt(0, "--what", "-w", panel=P_BENCH,
                     help="What to benchmark: 0 = whisper encoder/decoder (whisper-bench's figures), "
                          "1 = memcpy, 2 = ggml mul_mat."),
    repeat: int = _opt(1, "--repeat", "-r", panel=P_BENCH,
                       help="Measure N times; figures become the median, with min/max and stdev."),
    audio: Optional[str] = _opt(None, "--audio", "-a", panel=P_AUDIO, show_default=False,
                                help="Time real transcriptions of this file (any format) instead of -w 0's "
                                     "synthetic run: load, mel, encode, decode, total and real-time factor."),
    beam_size: int = _opt(5, "--beam-size", "-bs", panel=P_AUDIO, help="Beam size (1 = greedy), as whisper-cli."),
    best_of: int = _opt(5, "--best-of", "-bo", panel=P_AUDIO, help="Greedy candidates, as whisper-cli."),
    language: str = _opt("en", "--language", "-l", panel=P_AUDIO, help="Spoken language ('auto' detects)."),
    warmup: int = _opt(0, "--warmup", panel=P_AUDIO, help="Untimed transcriptions before the measured ones."),
    as_json: bool = _opt(False, "--json", panel=P_OUT, help="JSON: system info and every figure."),
    as_csv: bool = _opt(False, "--csv", panel=P_OUT, help="CSV: one row per configuration (medians, min, max, stdev)."),
    as_markdown: bool = _opt(False, "--markdown", "--md", panel=P_OUT,
                             help="Rows of whisper.cpp's community table (bench-all.sh, issue #89); -w 0 only."),
) -> None:
    """Benchmark whisper.cpp: whisper-bench's figures, thread/model sweeps, real transcriptions."""
    formats = [name for name, on in (("json", as_json), ("csv", as_csv), ("markdown", as_markdown)) if on]
    if len(formats) > 1:
        raise UsageError(f"choose one output format, not {' and '.join('--' + f for f in formats)}")
    fmt = formats[0] if formats else "table"

    from .. import bench as lib
    from ..params import default_threads

    lib.check_what(what)
    if fmt == "markdown" and (what != 0 or audio is not None):
        raise UsageError("--markdown rows are whisper-bench's -w 0 figures; use --json or --csv here")
    thread_list = lib.parse_threads(threads or [default_threads()])
    models = list(model or [])
    if what == 0 and not models:
        from ..models.registry import resolve_model

        models = [str(resolve_model(None, "base.en"))]

    with _make_progress() as progress:
        report = lib.run(
            models, thread_list, what=what, audio=audio, repeat=repeat, warmup=warmup, beam_size=beam_size,
            best_of=best_of, language=language, flash_attn=flash_attn, use_gpu=not no_gpu, exact=exact,
            on_progress=progress.update,
        )

    if fmt == "json":
        out(format_json(report) + "\n")
    elif fmt == "csv":
        out(format_csv(report))
    elif fmt == "markdown":
        out(format_markdown(report))
    elif what in (1, 2):
        out(format_text(report))
    else:
        print_table(report)


# --------------------------------------------------------------------------- progress (stderr)


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def _summary(result) -> str:
    if result.kind == "whisper":
        return (f"{result.model}, {_threads(result.threads)}, fa {int(result.flash_attn)}: "
                f"encode {result.encode_ms.median:.2f} ms, decode {result.decode_ms.median:.2f} ms, "
                f"batchd {result.batchd_ms.median:.2f} ms, prompt {result.prompt_ms.median:.2f} ms per run")
    if result.kind == "audio":
        return (f"{result.model}, {_threads(result.threads)}, beam {result.beam_size}: {result.audio} "
                f"({result.audio_ms / 1000:.1f} s) in {result.total_ms.median:.0f} ms, RTF {result.rtf.median:.3f}")
    return f"{'memcpy' if result.what == 1 else 'ggml_mul_mat'}, {_threads(result.threads)}: done"


class _LineProgress:
    """stderr is not a terminal: one line per configuration done."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def update(self, event) -> None:
        if event.finished is not None:
            err(f"whispercli bench: {_summary(event.finished)}")


class _RichProgress(_LineProgress):
    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, \
            TimeElapsedColumn

        self.console = Console(stderr=True)
        self._progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                                  MofNCompleteColumn(), TimeElapsedColumn(), console=self.console,
                                  transient=True, redirect_stdout=False, redirect_stderr=False)
        self._task = None

    def __enter__(self):
        self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.__exit__(*exc)

    def update(self, event) -> None:
        if self._task is None:
            self._task = self._progress.add_task(event.description, total=event.total)
        self._progress.update(self._task, description=event.description, completed=event.completed,
                              total=event.total)
        if event.finished is not None:
            self._progress.console.print(f"[green]✓[/] {_summary(event.finished)}", highlight=False)


def _make_progress():
    return _RichProgress() if sys.stderr.isatty() else _LineProgress()


# --------------------------------------------------------------------------- formats


def _clean(value):
    """JSON-safe: NaN -> null, tuples -> lists, dicts and lists recursively."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def format_json(report) -> str:
    import dataclasses
    import json

    from ..bench import WHAT_NAMES

    doc = {
        "system": dataclasses.asdict(report.system),
        "what": report.what,
        "what_name": WHAT_NAMES[report.what],
        "results": [dataclasses.asdict(r) for r in report.results],
    }
    return json.dumps(_clean(doc), indent=2, ensure_ascii=False)


def _stat_columns(name: str, stat) -> dict:
    if stat is None:
        return {name: "", f"{name}_min": "", f"{name}_max": "", f"{name}_stdev": ""}
    return {name: stat.median, f"{name}_min": stat.min, f"{name}_max": stat.max, f"{name}_stdev": stat.stdev}


def flat_row(report, result) -> dict:
    """One CSV row: the system columns, then the record's fields with every Stat flattened."""
    import dataclasses

    from ..bench import PhaseStat, Stat

    s = report.system
    row = {"cpu": s.cpu, "os": s.os, "config": s.config, "cores": s.logical_cores,
           "whisper_cpp": s.whisper_cpp, "whispercli": s.whispercli}
    for f in dataclasses.fields(result):
        value = getattr(result, f.name)
        if f.name in ("rows", "text") and result.kind == "text":
            continue
        if isinstance(value, Stat) or (value is None and f.name.endswith("_ms") and f.name != "audio_load_ms"):
            row.update(_stat_columns(f.name, value))
        elif isinstance(value, PhaseStat) or (value is None and f.name in ("sample", "encode", "decode", "batchd",
                                                                            "prompt")):
            runs = None if value is None else value.runs.median
            row[f"{f.name}_runs"] = "" if runs is None else (int(runs) if float(runs).is_integer() else runs)
            row.update(_stat_columns(f"{f.name}_per_run_ms", value and value.per_run_ms))
            row.update(_stat_columns(f"{f.name}_ms", value and value.total_ms))
        elif f.name == "runs" and isinstance(value, dict):
            row.update({f"{k}_runs": v for k, v in value.items()})
        elif isinstance(value, float) and value != value:
            row[f.name] = ""
        else:
            row[f.name] = "" if value is None else value
    return row


def format_csv(report) -> str:
    import csv
    import io

    buf = io.StringIO()
    if report.what in (1, 2):
        s = report.system
        base = {"cpu": s.cpu, "os": s.os, "config": s.config, "cores": s.logical_cores,
                "whisper_cpp": s.whisper_cpp, "whispercli": s.whispercli}
        rows = []
        for r in report.results:
            for cell in r.rows:
                rows.append({**base, "what": r.what, "threads": r.threads, **_dataclass_dict(cell)})
    else:
        rows = [flat_row(report, r) for r in report.results]
    if rows:
        names = list(rows[0])
        for row in rows[1:]:
            names += [k for k in row if k not in names]
        writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return buf.getvalue()


def _dataclass_dict(obj) -> dict:
    import dataclasses

    return {k: ("" if v is None else v) for k, v in dataclasses.asdict(obj).items()}


def _md_row(cells) -> str:
    return "| " + " | ".join(f"{c:>{w}}" for c, w in zip(cells, _MD_WIDTHS)) + " |\n"


def markdown_rows(report) -> list[list[str]]:
    """bench-all.sh's rows: per-run ms with 2 decimals (field 11 of whisper-bench's lines)."""
    s = report.system
    return [
        [s.cpu, s.os, s.config, r.model, str(r.threads), str(int(r.flash_attn)),
         f"{r.encode_ms.median:.2f}", f"{r.decode_ms.median:.2f}", f"{r.batchd_ms.median:.2f}",
         f"{r.prompt_ms.median:.2f}", s.whisper_cpp]
        for r in report.results
    ]


def format_markdown(report) -> str:
    lines = [_md_row(MARKDOWN_HEADER), _md_row(["---"] * len(MARKDOWN_HEADER))]
    lines += [_md_row(cells) for cells in markdown_rows(report)]
    return "".join(lines)


def format_text(report) -> str:
    """-w 1 / -w 2: libwhisper's text as whisper-bench prints it; a header per thread count in a sweep."""
    if len(report.results) == 1:
        return report.results[0].text
    return "\n".join(f"threads = {r.threads}\n{r.text}" for r in report.results)


def _fmt(stat, digits: int = 2) -> str:
    """A table cell: the median, and with repeats ``±`` half the min-max range in percent."""
    if stat is None:
        return "-"
    text = f"{stat.median:.{digits}f}"
    if stat.n > 1 and stat.median:
        text += f" ±{(stat.max - stat.min) / 2 / abs(stat.median) * 100:.0f}%"
    return text


def print_table(report) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=None if sys.stdout.isatty() else 200, highlight=False)
    s = report.system
    cores = f"{s.logical_cores} threads" + (f" / {s.physical_cores} cores" if s.physical_cores else "")
    title = (f"{s.cpu} ({cores}) · {s.os} · {s.config or 'CPU'} · "
             f"whisper.cpp {s.whisper_cpp} · whispercli {s.whispercli}")
    results = report.results
    repeat = results[0].repeat if results else 1
    spread = f"median of {repeat} runs, ± half the min–max range" if repeat > 1 else "one run"
    if results and results[0].kind == "audio":
        table = Table(title=title, caption=(
            f"ms, {spread}. Load: model, once. Mel/Encode/Decode/Batchd/Prompt: totals per transcription "
            f"(libwhisper's per-run ms × runs). Total: wall-clock of whisper_full; RTF = Total / audio."))
        for col in ("Model", "Th", "Beam", "Load", "Mel", "Encode", "Decode", "Batchd", "Prompt", "Total", "RTF"):
            table.add_column(col, justify="left" if col == "Model" else "right")
        for r in results:
            table.add_row(r.model, str(r.threads), str(r.beam_size), f"{r.load_ms:.0f}", _fmt(r.mel_ms, 0),
                          *(_fmt(getattr(r, p) and getattr(r, p).total_ms, 0)
                            for p in ("encode", "decode", "batchd", "prompt")),
                          _fmt(r.total_ms, 0), _fmt(r.rtf, 3))
        console.print(table)
        audio_s = results[0].audio_ms / 1000
        console.print(f"{results[0].audio}: {audio_s:.1f} s of audio; transcript: {results[0].text}")
        return
    table = Table(title=title, caption=(
        f"ms per run, {spread} (whisper-bench -w 0: encode 1 run, decode 256, batchd 320, prompt 4096)"))
    for col in ("Model", "Th", "FA", "Load", "Enc.", "Dec.", "Bch5", "PP"):
        table.add_column(col, justify="left" if col == "Model" else "right")
    for r in results:
        table.add_row(r.model, str(r.threads), str(int(r.flash_attn)), f"{r.load_ms:.0f}",
                      _fmt(r.encode_ms), _fmt(r.decode_ms), _fmt(r.batchd_ms), _fmt(r.prompt_ms))
    console.print(table)
