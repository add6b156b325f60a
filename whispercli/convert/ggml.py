"""Writing the ggml file: header, mel filters, vocabulary and tensors, hashed on the way, atomically."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Sequence

import numpy as np

from ..constants import GGML_MAGIC_U32
from ..errors import ConversionError
from ..fileio import atomic_write
from ..models.registry import OFFICIAL
from .ct2 import Ct2Model, PartedFile, find_model_files
from .layout import FTYPE_F16, Hparams, Tensor, check_layout, read_hparams, tensor_plan
from .mel import mel_filters
from .vocab import vocab_bytes


#: SHA1 of every official ggml file -> its model name (the registry's table, inverted).
KNOWN_SHA1: dict[str, str] = {sha1: name for name, (sha1, _) in OFFICIAL.items()}

_COPY_CHUNK = 16 << 20


@dataclass(frozen=True)
class ConversionResult:
    path: Path
    size_bytes: int
    sha1: str
    official_name: str | None


class _HashingWriter:
    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.sha1 = hashlib.sha1()
        self.size = 0

    def write(self, data: bytes | memoryview) -> None:
        self.sha1.update(data)
        self.fh.write(data)
        self.size += len(data) if isinstance(data, bytes) else data.nbytes

    def write_array(self, arr: np.ndarray) -> None:
        arr = np.ascontiguousarray(arr)
        flat = memoryview(arr).cast("B")
        for start in range(0, len(flat), _COPY_CHUNK):
            self.write(flat[start : start + _COPY_CHUNK])


def _write_ggml(
    w: _HashingWriter, model: Ct2Model, hp: Hparams, vocab: list[bytes], plan: list[Tensor]
) -> None:
    w.write(struct.pack("<12i", GGML_MAGIC_U32, *dataclasses.astuple(hp)))

    filters = mel_filters(hp.n_mels)
    w.write(struct.pack("<2i", *filters.shape))
    w.write_array(filters.astype("<f4", copy=False))

    w.write(struct.pack("<i", len(vocab)))
    w.write(b"".join(struct.pack("<i", len(tok)) + tok for tok in vocab))

    for t in plan:
        data = model.float_array(t.ct2_name)
        if t.rows is not None:
            data = data[t.rows]
        # Row slices of a C-contiguous array stay contiguous: the float16 weights go
        # from the memory map to the file without a copy.
        data = data.astype("<f2" if t.ftype == FTYPE_F16 else "<f4", copy=False)
        shape = t.shape or data.shape
        name = t.ggml_name.encode("utf-8")
        w.write(struct.pack(f"<3i{len(shape)}i", len(shape), len(name), t.ftype, *reversed(shape)))
        w.write(name)
        w.write_array(data)
        del data
        var = model.info(t.ct2_name)
        model.data.release(var.offset, var.n_bytes)


def convert_ct2_to_ggml(
    src_dir: str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    extra_parts: Sequence[os.PathLike] = (),
) -> ConversionResult:
    """Convert the CTranslate2 Whisper model in ``src_dir`` to a ggml file at ``out_path``.

    ``src_dir`` holds ``model.bin`` or ``model.bin.part1``, ``.part2``, ...
    (joined in numeric order; ``extra_parts`` names further directories or files
    holding parts), plus ``vocabulary.txt`` / ``vocabulary.json`` /
    ``tokenizer.json``.  The output appears atomically or not at all.

    Raises:
        ConversionError: the input is missing, malformed, quantized or not Whisper.
        OutputError: the output file cannot be written.
    """
    src = Path(src_dir)
    out = Path(out_path)
    if not src.is_dir():
        raise ConversionError(f"{src}: not a directory")
    files = find_model_files(src, extra_parts)
    label = str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} parts)"

    data = PartedFile(files)
    try:
        model = Ct2Model(data, label)
        hp = read_hparams(model)
        plan = tensor_plan(model, hp)
        check_layout(model, hp, plan)
        vocab = vocab_bytes(src)

        with atomic_write(out) as fh:
            writer = _HashingWriter(fh)
            _write_ggml(writer, model, hp, vocab, plan)
    finally:
        data.close()

    sha1 = writer.sha1.hexdigest()
    return ConversionResult(path=out, size_bytes=writer.size, sha1=sha1, official_name=KNOWN_SHA1.get(sha1))
