"""What this build is and what it knows: versions, the CPU features ggml uses, languages.

The public face of facts the compiled module holds, so that clients (the CLI, the server,
cluster workers) never import :mod:`whispercli._native` themselves.
"""

from __future__ import annotations

import functools

from ._version import __version__


def whisper_cpp_version() -> str:
    """The libwhisper version compiled in (``whisper_version()``), e.g. ``"1.9.1"``."""
    from . import _native

    return _native.version()


def build_info() -> str:
    """How the native core was built (CMake switches, patches applied)."""
    from . import _native

    return _native.build_info()


@functools.lru_cache(maxsize=None)
def system_info(exact: bool = False) -> str:
    """``whisper_print_system_info()``: the CPU features ggml uses (ends with ``" | "``, as whisper-cli writes it).

    ``exact``: as the engine runs with ``exact`` numerics, where llamafile's kernels (built in
    for patch 0007, then unused) are not part of the computation: whisper-cli's own line.
    """
    from . import _native

    info = _native.system_info()
    return info.replace("LLAMAFILE = 1 | ", "") if exact else info


def versions() -> dict[str, str]:
    """whispercli's, whisper.cpp's and the build's description, for ``--version`` and server build info."""
    return {"whispercli": __version__, "whisper_cpp": whisper_cpp_version(), "build": build_info()}


@functools.lru_cache(maxsize=None)
def languages() -> tuple[tuple[str, str], ...]:
    """Every language the models know, as ``(code, English name)`` in whisper.cpp's id order."""
    from . import _native

    return tuple(_native.languages())


def language_id(code_or_name: str) -> int:
    """whisper.cpp's id of a language code or English name (any case); -1 when unknown."""
    from . import _native

    return _native.lang_id(code_or_name.lower())


def is_language(code_or_name: str) -> bool:
    return language_id(code_or_name) >= 0
