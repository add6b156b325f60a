"""Fixtures of the CLI tests: ``whispercli`` as a user runs it, in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.fixture(scope="session")
def cli(models_dir, tiny_en_path):
    """``cli(*args)`` runs ``python -m whispercli *args`` with the test model cache; tiny.en is in it."""
    env = dict(os.environ, WHISPERCLI_MODELS_DIR=str(models_dir))

    def run(*args, input: bytes | None = None, cwd=None, timeout=300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "whispercli", *map(str, args)], input=input,
                              capture_output=True, cwd=cwd, env=env, timeout=timeout)

    return run
