"""``whispercli convert-model``: CTranslate2 (faster-whisper) checkpoint -> ggml."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ._console import out


def convert_model(
    src: Path = typer.Argument(..., help="CTranslate2 model directory (model.bin or model.bin.part1..N, config.json, vocabulary)."),
    out_path: Path = typer.Argument(..., metavar="OUT", help="The ggml file to write (e.g. ggml-tiny.en.bin)."),
    part_dirs: Optional[List[Path]] = typer.Option(
        None, "--parts-from", help="Another directory holding model.bin.partN files (repeatable)."
    ),
) -> None:
    """Convert a CTranslate2 Whisper model to the ggml file whisper.cpp loads.

    The result is bit-identical to the official ggml file for the same weights; the
    SHA1 is printed with the official model it matches, if any.
    """
    from ..convert import convert_ct2_to_ggml

    result = convert_ct2_to_ggml(src, out_path, extra_parts=tuple(part_dirs or ()))
    match = f"matches official {result.official_name}" if result.official_name else "matches no official file"
    out(f"{result.path}\t{result.size_bytes} bytes\tsha1 {result.sha1}\t{match}\n")
