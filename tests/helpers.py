"""Plain test helpers (not fixtures), importable from any test module as ``helpers``.

Kept out of ``conftest.py``: with several conftest files, ``from conftest import`` may
resolve to the wrong one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import signal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JFK_WAV = ROOT / "whisper.cpp" / "samples" / "jfk.wav"
JFK_WORDS = "and so my fellow americans ask not what your country can do for you ask what you can do for your country"


def load_build_native(name: str = "build_native"):
    """``build_native.py`` as a module (it is a script at the top level, not part of the package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "build_native.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def words(text: str) -> str:
    """Lower-case words only: compare transcripts modulo punctuation and spacing."""
    return " ".join("".join(ch if ch.isalnum() or ch.isspace() else " " for ch in text.lower()).split())


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate (Levenshtein distance over words / reference length), modulo punctuation."""
    ref, hyp = words(reference).split(), words(hypothesis).split()
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as fp:
        while chunk := fp.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()


def default_sigint() -> None:
    """``preexec_fn`` for a child that must die on SIGINT even when the suite runs as a shell
    background job (those start with SIGINT ignored, and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_line(stderr: bytes) -> str:
    """The one line a failing command prints on stderr (and no traceback)."""
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert "Traceback" not in lines[0]
    return lines[0]
