"""Reading a CTranslate2 ``model.bin`` (possibly split into ``.partN`` files) from a memory map."""

from __future__ import annotations

import mmap
import os
import re
import struct
from pathlib import Path
from typing import NamedTuple, Sequence

import numpy as np

from ..errors import ConversionError


# DataType enum of CTranslate2's include/ctranslate2/types.h, by type id.
_CT2_DTYPES: tuple[str, ...] = ("float32", "int8", "int16", "int32", "float16", "bfloat16")
_NUMPY_DTYPES: dict[str, str] = {
    "float32": "<f4",
    "int8": "i1",
    "int16": "<i2",
    "int32": "<i4",
    "float16": "<f2",
}
_ITEMSIZES: dict[str, int] = {
    "float32": 4, "int8": 1, "int16": 2, "int32": 4, "float16": 2, "bfloat16": 2,
}
_QUANTIZED_DTYPES = frozenset({"int8", "int16", "bfloat16"})
# Binary version 4 introduced explicit dtype ids; the layout has not changed up to 6,
# and Whisper support in CTranslate2 postdates version 4 anyway.
_MIN_CT2_VERSION = 4
_MAX_CT2_VERSION = 6


class _Variable(NamedTuple):
    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    n_bytes: int


class PartedFile:
    """Read-only random access to the concatenation of one or more mmapped files."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = list(paths)
        self._maps: list[mmap.mmap | bytes] = []
        self._starts: list[int] = []
        self.size = 0
        try:
            for path in self.paths:
                with open(path, "rb") as fh:
                    length = os.fstat(fh.fileno()).st_size
                    # mmap refuses empty files; an empty part just contributes nothing.
                    m: mmap.mmap | bytes = (
                        mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if length else b""
                    )
                self._maps.append(m)
                self._starts.append(self.size)
                self.size += length
        except OSError as exc:
            self.close()
            where = exc.filename or self.paths[0]
            raise ConversionError(f"{where}: cannot read model file: {exc.strerror}") from exc

    def close(self) -> None:
        for m in self._maps:
            if isinstance(m, mmap.mmap):
                try:
                    m.close()
                except BufferError:
                    # A numpy view is still alive; the map is released with it.
                    pass
        self._maps = []

    def read(self, offset: int, n: int) -> memoryview | bytes:
        """``n`` bytes at ``offset``: a zero-copy view unless they straddle two parts."""
        if offset < 0 or offset + n > self.size:
            raise EOFError(offset, n)
        pieces: list[memoryview] = []
        for start, m in zip(self._starts, self._maps):
            end = start + len(m)
            if end <= offset or n == 0:
                continue
            lo = offset - start
            take = min(n, end - offset)
            pieces.append(memoryview(m)[lo : lo + take])
            offset += take
            n -= take
            if n == 0:
                break
        if len(pieces) == 1:
            return pieces[0]
        return b"".join(pieces)

    def release(self, offset: int, n: int) -> None:
        """Drop the pages of a range already written out from this process's RSS.

        The mapping is read-only and file-backed, so this only costs a re-read if
        the range is touched again; without it RSS grows to the whole model.
        """
        if not hasattr(mmap, "MADV_DONTNEED"):
            return
        for start, m in zip(self._starts, self._maps):
            if not isinstance(m, mmap.mmap):
                continue
            lo = max(offset - start, 0)
            hi = min(offset + n - start, len(m))
            if lo >= hi:
                continue
            lo -= lo % mmap.PAGESIZE
            m.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


class Ct2Model:
    """The variable index of a CTranslate2 model.bin; data is read on demand."""

    def __init__(self, data: PartedFile, label: str) -> None:
        self.data = data
        self.label = label
        self.pos = 0
        self.spec = ""
        self.revision = 0
        self.variables: dict[str, _Variable] = {}
        self.aliases: dict[str, str] = {}
        self._parse()

    # -- low-level cursor ---------------------------------------------------------------

    def _take(self, fmt: str) -> int:
        size = struct.calcsize(fmt)
        try:
            raw = self.data.read(self.pos, size)
        except EOFError:
            raise ConversionError(
                f"{self.label}: truncated CTranslate2 model (header ends at byte {self.pos}, "
                f"file has {self.data.size} bytes)"
            ) from None
        self.pos += size
        return struct.unpack(fmt, raw)[0]

    def _string(self) -> str:
        # uint16 length including a trailing NUL.
        length = self._take("<H")
        if length == 0:
            raise ConversionError(f"{self.label}: not a CTranslate2 model (bad string at byte {self.pos})")
        try:
            raw = bytes(self.data.read(self.pos, length))
        except EOFError:
            raise ConversionError(
                f"{self.label}: truncated CTranslate2 model (header cut at byte {self.pos})"
            ) from None
        self.pos += length
        if raw[-1] != 0:
            raise ConversionError(f"{self.label}: not a CTranslate2 model (bad string at byte {self.pos})")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise ConversionError(
                f"{self.label}: not a CTranslate2 model (bad string at byte {self.pos})"
            ) from None

    # -- parsing ------------------------------------------------------------------------

    def _parse(self) -> None:
        if self.data.size < 4:
            raise ConversionError(f"{self.label}: not a CTranslate2 model (file is {self.data.size} bytes)")
        version = self._take("<I")
        if not 1 <= version <= 64:
            raise ConversionError(f"{self.label}: not a CTranslate2 model (bad header)")
        if not _MIN_CT2_VERSION <= version <= _MAX_CT2_VERSION:
            raise ConversionError(
                f"{self.label}: unsupported CTranslate2 binary version {version} "
                f"(supported: {_MIN_CT2_VERSION}..{_MAX_CT2_VERSION})"
            )
        spec = self._string()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", spec):
            raise ConversionError(f"{self.label}: not a CTranslate2 model (bad header)")
        self.spec = spec
        self.revision = self._take("<I")
        if self.spec != "WhisperSpec":
            raise ConversionError(
                f"{self.label}: unsupported model architecture {self.spec!r}; only Whisper "
                "models (WhisperSpec) can be converted"
            )

        n_variables = self._take("<I")
        for _ in range(n_variables):
            name = self._string()
            rank = self._take("<B")
            shape = tuple(self._take("<I") for _ in range(rank))
            type_id = self._take("<B")
            if type_id >= len(_CT2_DTYPES):
                raise ConversionError(f"{self.label}: unknown data type id {type_id} for variable {name}")
            dtype = _CT2_DTYPES[type_id]
            n_bytes = self._take("<I")
            if self.pos + n_bytes > self.data.size:
                raise ConversionError(
                    f"{self.label}: truncated CTranslate2 model (variable {name} needs {n_bytes} "
                    f"bytes at offset {self.pos}, file has {self.data.size} bytes)"
                )
            if rank and dtype in _QUANTIZED_DTYPES:
                # Checked here, before any layout check, so the message says what is wrong.
                raise ConversionError(
                    f"{self.label}: quantized weights ({dtype}) are not supported; "
                    "convert a float16/float32 CTranslate2 model"
                )
            if n_bytes != _ITEMSIZES[dtype] * int(np.prod(shape, dtype=np.int64)):
                raise ConversionError(
                    f"{self.label}: corrupt CTranslate2 model (variable {name}: {n_bytes} bytes "
                    f"for shape {shape} of {dtype})"
                )
            self.variables[name] = _Variable(name, shape, dtype, self.pos, n_bytes)
            self.pos += n_bytes

        n_aliases = self._take("<I")
        for _ in range(n_aliases):
            alias = self._string()
            self.aliases[alias] = self._string()
        if self.pos != self.data.size:
            raise ConversionError(
                f"{self.label}: corrupt CTranslate2 model ({self.data.size - self.pos} unexpected "
                "bytes after the variable table)"
            )

    # -- access -------------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.variables or name in self.aliases

    def info(self, name: str) -> _Variable:
        seen = set()
        # CTranslate2 aliases any variable equal to an alphabetically earlier one,
        # so even a required weight may be stored under another name.
        while name in self.aliases and name not in self.variables and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        try:
            return self.variables[name]
        except KeyError:
            raise ConversionError(f"{self.label}: not a Whisper model (variable {name} is missing)") from None

    def array(self, name: str) -> np.ndarray:
        var = self.info(name)
        raw = self.data.read(var.offset, var.n_bytes)
        return np.frombuffer(raw, dtype=_NUMPY_DTYPES[var.dtype]).reshape(var.shape)

    def float_array(self, name: str) -> np.ndarray:
        var = self.info(name)
        if var.dtype not in ("float16", "float32"):
            raise ConversionError(
                f"{self.label}: variable {name} has dtype {var.dtype}, expected float16/float32"
            )
        return self.array(name)

    def scalar(self, name: str) -> int | None:
        if not self.has(name):
            return None
        var = self.info(name)
        if var.shape not in ((), (1,)) or var.dtype not in _NUMPY_DTYPES:
            return None
        return int(self.array(name).reshape(-1)[0])


def find_model_files(src: Path, extra_parts: Sequence[os.PathLike]) -> list[Path]:
    single = src / "model.bin"
    if single.is_file() and not extra_parts:
        return [single]

    parts: dict[int, Path] = {}
    part_re = re.compile(r"model\.bin\.part(\d+)")

    def add(path: Path) -> None:
        match = part_re.fullmatch(path.name)
        if not match or not path.is_file():
            return
        index = int(match.group(1))
        previous = parts.get(index)
        if previous is not None and not previous.samefile(path):
            raise ConversionError(f"{path}: duplicate model part {index} (also {previous})")
        parts[index] = path

    for entry in src.iterdir():
        add(entry)
    for extra in extra_parts:
        extra_path = Path(extra)
        if extra_path.is_dir():
            for entry in extra_path.iterdir():
                add(entry)
        elif extra_path.is_file() and part_re.fullmatch(extra_path.name):
            add(extra_path)
        else:
            raise ConversionError(f"{extra_path}: not a directory or a model.bin.partN file")

    if single.is_file():
        if parts:
            raise ConversionError(f"{src}: holds model.bin but model.bin.partN files were also given")
        return [single]
    if not parts:
        raise ConversionError(f"{src}: no model.bin (or model.bin.part1, ...) found")
    expected = list(range(1, len(parts) + 1))
    if sorted(parts) != expected:
        missing = sorted(set(range(1, max(parts) + 1)) - set(parts))
        raise ConversionError(
            f"{src}: model.bin parts are incomplete (missing part {', '.join(map(str, missing)) or '1'})"
        )
    return [parts[i] for i in expected]
