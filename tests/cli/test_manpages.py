"""man/ is generated from the CLI definitions; a page that drifts from the code fails here."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from helpers import ROOT
from whispercli.cli._manpage import render_all


def test_committed_pages_match_the_code():
    pages = render_all()
    committed = {p.name for p in (ROOT / "man").glob("*.1")}
    assert committed == set(pages), "regenerate: python -m whispercli.cli._manpage man"
    for name, text in pages.items():
        assert (ROOT / "man" / name).read_text(encoding="utf-8") == text, (
            f"man/{name} is stale: python -m whispercli.cli._manpage man"
        )


def test_every_option_is_documented():
    import typer.main

    from whispercli.cli.app import app

    group = typer.main.get_command(app)
    pages = render_all()
    for name, command in group.commands.items():
        page = pages[f"whispercli-{name}.1"]
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("-"):
                    assert opt.replace("-", "\\-") in page, (name, opt)


@pytest.mark.skipif(shutil.which("man") is None and shutil.which("groff") is None, reason="no man/groff")
def test_pages_render_without_warnings():
    tool = ["groff", "-man", "-Tutf8", "-ww", "-z"] if shutil.which("groff") else ["man", "--warnings", "-l"]
    for page in (ROOT / "man").glob("*.1"):
        proc = subprocess.run([*tool, str(page)], capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", (page.name, proc.stderr)
