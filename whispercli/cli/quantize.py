"""``whispercli quantize``: whisper.cpp's whisper-quantize, as a subcommand."""

from __future__ import annotations

from pathlib import Path

import typer

from ._console import out


def quantize(
    src: Path = typer.Argument(..., metavar="IN", help="ggml model to quantize (f16 or f32)."),
    dest: Path = typer.Argument(..., metavar="OUT", help="The quantized model to write."),
    qtype: str = typer.Argument(..., metavar="TYPE",
                                help="q4_0, q4_1, q5_0, q5_1, q8_0, q2_k, q3_k, q4_k, q5_k, q6_k (or the ggml_ftype number)."),
) -> None:
    """Quantize a ggml Whisper model (q8_0 keeps accuracy and is faster on CPU).

    The output is written atomically; the result prints as OUT, type and sizes.
    """
    from ..models.quantize import quantize_model

    result = quantize_model(src, dest, qtype)
    out(f"{result.path}\t{result.type}\t{result.size_bytes} bytes\t"
        f"({result.size_bytes / result.input_size_bytes:.0%} of {result.input_size_bytes} bytes)\n")
