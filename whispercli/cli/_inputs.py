"""Input arguments -> the list of things to transcribe (files, directories, globs, stdin)."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

#: What a directory argument expands to (case-insensitive suffixes).
AUDIO_SUFFIXES = frozenset({
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".mp4", ".m4v", ".mkv",
    ".webm", ".mov", ".avi", ".aif", ".aiff", ".aifc", ".wma", ".amr", ".caf", ".au", ".3gp",
})
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputItem:
    name: str  # as shown and used for output naming: the argument, or the expanded path
    error: str | None = None  # set when the argument cannot be an input (reported, then skipped)

    @property
    def is_stdin(self) -> bool:
        return self.name == "-"


def expand_inputs(args: list[str]) -> list[InputItem]:
    """Expand directories (their audio files, sorted, not recursive) and globs, in order.

    Arguments that exist nowhere become items carrying an error, so the caller can
    report them and go on with the rest.
    """
    items: list[InputItem] = []
    seen: set[str] = set()

    def add(name: str, error: str | None = None) -> None:
        if error is None and name != "-":
            key = os.path.realpath(name)
            if key in seen:
                return
            seen.add(key)
        items.append(InputItem(name, error))

    for arg in args:
        if arg == "-":
            add("-")
            continue
        path = Path(arg)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
            if not found:
                add(arg, f"no audio files in directory {arg!r}")
            for p in found:
                add(str(p))
        elif path.exists():
            add(arg)
        elif _GLOB_CHARS & set(arg):
            matches = sorted(glob.glob(arg))
            if not matches:
                add(arg, f"no files match {arg!r}")
            for match in matches:
                if Path(match).is_dir():
                    continue
                add(match)
        else:
            add(arg, f"input file not found: {arg!r}")
    return items
