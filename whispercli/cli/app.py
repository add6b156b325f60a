"""The ``whispercli`` command: a Typer app over the library.

``main()`` owns error handling: every deliberate :class:`WhisperCliError` becomes
one line on stderr and a named exit status (``exit_codes.py``); anything else is
a bug and shows a traceback only with ``--debug``.  Command modules import numpy
and the native module inside their bodies so ``--help`` stays fast.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from .._version import WHISPER_CPP_VERSION, __version__
from . import bench, convert_model, detect_lang, download_model, quantize, serve, transcribe
from . import vad as vad_command
from ._console import err
from .exit_codes import ExitStatus, status_for

app = typer.Typer(
    name="whispercli",
    help="whisper.cpp's whisper-cli, in Python: transcribe, translate, detect languages, benchmark, fetch models.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if not value:
        return
    lines = [f"whispercli {__version__}", f"whisper.cpp {WHISPER_CPP_VERSION}"]
    try:
        from .. import system

        lines[1] = f"whisper.cpp {system.whisper_cpp_version()} ({system.build_info()})"
        lines.append(f"system_info: {system.system_info().strip()}")
    except ImportError as exc:
        lines.append(f"native module: not available ({exc})")
    typer.echo("\n".join(lines))
    raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print whispercli's and whisper.cpp's versions and the build's system info."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                help="Show whisper.cpp's log on stderr (-vv: debug lines too)."),
) -> None:
    if verbose:
        logging.basicConfig(
            level=logging.DEBUG if verbose > 1 else logging.INFO,
            format="%(message)s",
            stream=sys.stderr,
        )


app.command("transcribe", no_args_is_help=True)(transcribe.transcribe)
app.command(
    "translate", no_args_is_help=True,
    help="Transcribe and translate into English (transcribe --translate; same options).",
)(transcribe.transcribe)
app.command("detect-lang")(detect_lang.detect_lang)
app.command("bench")(bench.bench)
app.command("download-model")(download_model.download_model)
app.command("convert-model")(convert_model.convert_model)
app.command("quantize")(quantize.quantize)
app.command("vad", no_args_is_help=True)(vad_command.vad)
app.command("serve")(serve.serve)


def _expand_response_file(args: list[str]) -> list[str]:
    """whisper-cli's ``@FILE``: when it is the only argument, read the arguments from it."""
    if len(args) == 2 and args[0] in ("transcribe", "translate") and args[1].startswith("@"):
        from ..errors import UsageError

        path = args[1][1:]
        try:
            with open(path, encoding="utf-8") as fp:
                return [args[0], *fp.read().splitlines()]
        except OSError as exc:
            raise UsageError(f"response file {path!r}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"response file {path!r} is not UTF-8 text") from None
    return args


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, map errors to exit statuses."""
    # numpy's OpenBLAS starts a thread per core when numpy is imported, and each spins ~0.1 s
    # waiting for work we never give it (nothing here calls BLAS): 7 % of a short clip's CPU time,
    # taken from ggml's threads. Set before anything imports numpy; a user's own value wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = list(sys.argv[1:] if argv is None else argv)
    debug = os.environ.get("WHISPERCLI_DEBUG", "") not in ("", "0")
    if "--debug" in args:
        args.remove("--debug")
        debug = True
    sys.exit(run(args, debug=debug))


def _click_exceptions():
    try:  # typer >= 0.22 vendors click
        from typer._click import exceptions
    except ImportError:  # pragma: no cover - older typer on upstream click
        from click import exceptions
    return exceptions


def run(args: list[str], *, debug: bool = False) -> int:
    from ..errors import WhisperCliError

    click = _click_exceptions()
    try:
        args = _expand_response_file(args)
        result = app(args=args, prog_name="whispercli", standalone_mode=False)
        return int(result or 0)
    except typer.Exit as exc:
        if exc.exit_code == ExitStatus.INTERRUPTED:
            err("whispercli: interrupted")  # typer turns Ctrl-C into a silent Exit(130)
        return exc.exit_code
    except click.UsageError as exc:
        if debug:
            raise
        hint = f" (try 'whispercli {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else ""
        err(f"whispercli: error: {exc.format_message()}{hint}")
        return ExitStatus.USAGE
    except typer.Abort:
        err("whispercli: interrupted")
        return ExitStatus.INTERRUPTED
    except KeyboardInterrupt:
        if debug:
            raise
        err("whispercli: interrupted")
        return ExitStatus.INTERRUPTED
    except WhisperCliError as exc:
        if debug:
            raise
        err(f"whispercli: error: {exc}")
        return status_for(exc)
    except click.ClickException as exc:
        if debug:
            raise
        err(f"whispercli: error: {exc.format_message()}")
        return exc.exit_code
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return ExitStatus.OK
    except Exception as exc:  # a bug: one line, traceback with --debug
        if debug:
            raise
        err(f"whispercli: internal error: {type(exc).__name__}: {exc} (run with --debug for a traceback)")
        return ExitStatus.ERROR
