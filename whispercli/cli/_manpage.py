"""Render man pages (roff) from the CLI definitions, so they cannot drift from the code.

``python -m whispercli.cli._manpage man/`` rewrites ``man/whispercli.1`` and one
``man/whispercli-<command>.1`` per subcommand; a test fails when the committed pages
differ from what this produces.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from .._version import WHISPER_CPP_VERSION, __version__
from .exit_codes import ExitStatus

_EXIT_MEANINGS = {
    ExitStatus.OK: "success",
    ExitStatus.ERROR: "an internal error (a bug: rerun with --debug and report it)",
    ExitStatus.USAGE: "bad command line: unknown option, bad value, unknown language",
    ExitStatus.MODEL: "model missing, not a ggml model, truncated, or not convertible",
    ExitStatus.AUDIO: "input missing or undecodable",
    ExitStatus.OUTPUT: "an output file or directory is not writable",
    ExitStatus.DOWNLOAD: "a download failed or its checksum did not match",
    ExitStatus.PARTIAL: "several inputs: some failed (each is reported), the others are done",
    ExitStatus.NATIVE: "libwhisper failed while processing",
    ExitStatus.INTERRUPTED: "interrupted (Ctrl-C); the outputs of finished inputs are kept",
}

_ENVIRONMENT = [
    ("WHISPERCLI_MODELS_DIR", "The model cache (default: $XDG_CACHE_HOME/whispercli/models, "
                              "~/.cache/whispercli/models)."),
    ("WHISPERCLI_MODEL_BASE_URL", "Where download-model fetches ggml files from (a mirror)."),
    ("HF_TOKEN", "Sent as a bearer token to the model host by download-model."),
    ("WHISPERCLI_DEBUG", "When set (not 0), errors show a traceback, like --debug."),
    ("WHISPER_ARG_DEVICE", "Default for -dev (as in whisper-cli)."),
    ("OPENBLAS_NUM_THREADS", "1 unless set: numpy's OpenBLAS threads would only spin (nothing here calls BLAS)."),
]


def _esc(text: str) -> str:
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.splitlines())


def _value_name(param) -> str:
    if getattr(param, "metavar", None):
        return param.metavar
    kind = getattr(param, "bare_type", None)
    if callable(kind) and not isinstance(kind, type):
        kind = kind()
    name = getattr(kind, "__name__", str(kind or "")).lower()
    return {"int": "N", "float": "X", "path": "PATH", "str": "TEXT"}.get(name, "VALUE")


def _default(param) -> str | None:
    shown = getattr(param, "show_default", True)
    if isinstance(shown, str):
        return shown  # a description such as "min(4, CPUs)": the value depends on the machine
    if not shown or getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    value = param.default
    if value in (None, "", [], ()) or callable(value):
        return None
    return str(value)


def _option_item(param) -> list[str]:
    def spell(opts) -> str:
        return ", ".join(f"\\fB{_esc(n)}\\fR" for n in sorted(opts, key=lambda o: (o.startswith("--"), o)))

    flag = getattr(param, "is_flag", False) or getattr(param, "count", False)
    head = spell(param.opts)
    if flag and param.secondary_opts:
        head += " / " + spell(param.secondary_opts)
    if not flag:
        head += f" \\fI{_esc(_value_name(param))}\\fR"
    text = _esc(param.help or "")
    default = _default(param)
    if default is not None:
        text += f" [default: {_esc(default)}]"
    if getattr(param, "multiple", False) and "repeatable" not in text:
        text += " (repeatable)"
    return [".TP", head, text]


def _header(title: str) -> list[str]:
    return [f'.TH {title.upper()} 1 "" "whispercli {__version__}" "User Commands"']


def render_command(name: str, command, prog: str = "whispercli") -> str:
    full = f"{prog}-{name}"
    doc = inspect.cleandoc(command.help or "")
    summary, _, description = doc.partition("\n\n")
    lines = _header(full)
    lines += [".SH NAME", f"{_esc(full)} \\- {_esc(summary.rstrip('.'))}"]
    usage = [f"\\fB{prog} {name}\\fR"]
    options, arguments = [], []
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        (options if param.param_type_name == "option" else arguments).append(param)
    if options:
        usage.append("[\\fIOPTIONS\\fR]")
    for arg in arguments:
        usage.append(f"\\fI{_esc(arg.metavar or arg.name.upper())}\\fR")
    lines += [".SH SYNOPSIS", " ".join(usage)]
    lines += [".SH DESCRIPTION", _esc(summary)]
    for para in filter(None, description.split("\n\n")):
        lines += [".PP", _esc(" ".join(para.split()))]
    if arguments:
        lines.append(".SH ARGUMENTS")
        for arg in arguments:
            lines += [".TP", f"\\fI{_esc(arg.metavar or arg.name.upper())}\\fR", _esc(arg.help or "")]
    panels: dict[str, list] = {}
    for param in options:
        panels.setdefault(getattr(param, "rich_help_panel", None) or "Options", []).append(param)
    if panels:
        lines.append(".SH OPTIONS")
        for panel, params in panels.items():
            if len(panels) > 1:
                lines.append(f".SS {_esc(panel)}")
            for param in params:
                lines += _option_item(param)
    lines += [".SH SEE ALSO", f"\\fBwhispercli\\fR(1)"]
    return "\n".join(lines) + "\n"


def render_main(group, prog: str = "whispercli") -> str:
    lines = _header(prog)
    lines += [".SH NAME", f"{prog} \\- {_esc((group.help or '').rstrip('.'))}"]
    lines += [".SH SYNOPSIS", f"\\fB{prog}\\fR [\\fB\\-\\-version\\fR] [\\fB\\-v\\fR] [\\fB\\-\\-debug\\fR] "
              "\\fICOMMAND\\fR [\\fIARGS\\fR]..."]
    lines += [".SH DESCRIPTION",
              _esc(f"whispercli runs whisper.cpp {WHISPER_CPP_VERSION} (statically linked) from Python. "
                   "Its transcribe command takes whisper-cli's options and writes the same files; "
                   "it also reads any audio or video format, keeps stdout for results, exits non-zero "
                   "on every failure and shows progress on a terminal.")]
    lines += [".SH COMMANDS"]
    for name, command in group.commands.items():
        summary = inspect.cleandoc(command.help or "").split("\n\n")[0]
        lines += [".TP", f"\\fB{_esc(name)}\\fR", f"{_esc(summary)} See \\fB{prog}\\-{_esc(name)}\\fR(1)."]
    lines += [".SH OPTIONS"]
    for param in group.params:
        if not getattr(param, "hidden", False):
            lines += _option_item(param)
    lines += [".TP", "\\fB\\-\\-debug\\fR", "Anywhere on the command line: show a traceback instead of the "
              "one-line error message."]
    lines += [".SH EXIT STATUS"]
    for status, meaning in _EXIT_MEANINGS.items():
        lines += [".TP", f"\\fB{int(status)}\\fR", _esc(meaning)]
    lines += [".SH ENVIRONMENT"]
    for var, meaning in _ENVIRONMENT:
        lines += [".TP", f"\\fB{_esc(var)}\\fR", _esc(meaning)]
    lines += [".SH SEE ALSO", ", ".join(f"\\fB{prog}\\-{_esc(n)}\\fR(1)" for n in group.commands)]
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """File name -> page text for the whole CLI."""
    import typer.main

    from .app import app

    group = typer.main.get_command(app)
    pages = {"whispercli.1": render_main(group)}
    for name, command in group.commands.items():
        pages[f"whispercli-{name}.1"] = render_command(name, command)
    return pages


def main(argv: list[str]) -> int:
    out_dir = Path(argv[0] if argv else "man")
    out_dir.mkdir(parents=True, exist_ok=True)
    pages = render_all()
    for stale in out_dir.glob("whispercli*.1"):
        if stale.name not in pages:
            stale.unlink()
    for name, text in pages.items():
        (out_dir / name).write_text(text, encoding="utf-8")
    print(f"wrote {len(pages)} pages to {out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
