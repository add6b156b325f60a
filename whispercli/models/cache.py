"""The per-user model cache that ``download-model`` fills and ``-m NAME`` reads.

Location, first match wins:

1. ``$WHISPERCLI_MODELS_DIR``
2. Linux and other Unix: ``$XDG_CACHE_HOME/whispercli/models`` (``~/.cache/whispercli/models``)
3. macOS: ``~/Library/Caches/whispercli/models``
4. Windows: ``%LOCALAPPDATA%\\whispercli\\models``
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "WHISPERCLI_MODELS_DIR"


def model_cache_dir() -> Path:
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "whispercli" / "models"


def model_filename(name: str) -> str:
    """whisper.cpp's file name for a model name: ``tiny.en`` -> ``ggml-tiny.en.bin``."""
    return f"ggml-{name}.bin"
