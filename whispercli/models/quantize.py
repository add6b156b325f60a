"""ggml model quantization (whisper.cpp's ``whisper-quantize``, compiled into the module)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError, UsageError
from ..fileio import atomic_path

#: ggml_ftype values, by the names whisper-quantize accepts (examples/common-ggml.cpp).
QUANT_TYPES: dict[str, int] = {
    "q4_0": 2, "q4_1": 3, "q5_0": 8, "q5_1": 9, "q8_0": 7,
    "q2_k": 10, "q3_k": 11, "q4_k": 12, "q5_k": 13, "q6_k": 14,
}


@dataclass(frozen=True)
class QuantizeResult:
    path: Path
    type: str
    size_bytes: int
    input_size_bytes: int


def parse_type(value: str) -> tuple[str, int]:
    """A type name (``q8_0``) or its ggml_ftype number (``7``) -> (name, number)."""
    key = value.strip().lower()
    if key in QUANT_TYPES:
        return key, QUANT_TYPES[key]
    if key.isdigit() and int(key) in QUANT_TYPES.values():
        number = int(key)
        return next(n for n, v in QUANT_TYPES.items() if v == number), number
    raise UsageError(f"unknown quantization type {value!r} (one of: {', '.join(QUANT_TYPES)}, or their numbers)")


def quantize_model(src: str | os.PathLike, dest: str | os.PathLike, qtype: str) -> QuantizeResult:
    """Quantize the ggml model ``src`` into ``dest`` (written atomically)."""
    from .. import _native
    from ..errors import NativeError
    from ..model import check_model_file

    name, ftype = parse_type(qtype)
    src_path = check_model_file(src)
    src_ftype = header_ftype(src_path)
    if src_ftype not in (0, 1):
        current = next((n for n, v in QUANT_TYPES.items() if v == src_ftype), str(src_ftype))
        raise ModelError(f"{str(src_path)!r} is already quantized ({current}); quantize an f16 or f32 model")
    _check_block_size(src_path, name, ftype)
    dest_path = Path(dest)
    if dest_path.resolve() == src_path.resolve():
        raise UsageError("the output must not overwrite the input model")
    with atomic_path(dest_path) as tmp:  # libwhisper's quantizer writes by file name
        try:
            _native.quantize(str(src_path), str(tmp), ftype)
        except NativeError as exc:
            raise ModelError(f"cannot quantize {str(src_path)!r}: {exc}") from None
    return QuantizeResult(dest_path, name, dest_path.stat().st_size, src_path.stat().st_size)


def _check_block_size(path: Path, name: str, ftype: int) -> None:
    """ggml stores whole blocks per row: k-quants (256 values) need a width that 256 divides.

    whisper-quantize writes tiny (width 384) in q2_k ... q6_k anyway, as a file no
    libwhisper can load; refuse before writing it.
    """
    from .validate import FTYPE_WEIGHT_TYPE, GGML_TYPES, validate_model

    width = validate_model(path).hparams.n_audio_state
    block = GGML_TYPES[FTYPE_WEIGHT_TYPE[ftype]][2]
    if width % block:
        fits = ", ".join(n for n, v in QUANT_TYPES.items() if width % GGML_TYPES[FTYPE_WEIGHT_TYPE[v]][2] == 0)
        raise UsageError(f"{name} stores rows in blocks of {block} values and this model's width is {width}: "
                         f"libwhisper could not load the result (for this model use {fits})")


def header_ftype(path: Path) -> int:
    """The model's ggml_ftype from its header (magic + 11 int32 hparams, ftype last)."""
    import struct

    with open(path, "rb") as fp:
        header = fp.read(4 + 11 * 4)
    if len(header) < 48:
        raise ModelError(f"cannot quantize {str(path)!r}: the file is truncated")
    # whisper.cpp stores ftype + GGML_QNT_VERSION * GGML_QNT_VERSION_FACTOR (1000)
    return struct.unpack_from("<11i", header, 4)[10] % 1000
