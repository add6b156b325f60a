"""Mutations for the fuzz campaign (``benchmarks/fuzz_models.py``) and the suite's fuzz tests.

Model mutations know the file's structure (:func:`model_layout` finds every count, size,
tensor header and boundary) so they hit what a loader trusts: fields set to edge values,
truncation at and near boundaries, dropped and repeated tensors, renamed tensors, bytes in
the header region and in tensor data.  Audio mutations hit container headers (and the WAV
fmt fields by name), truncate, splice, flip bytes and append garbage.
"""

from __future__ import annotations

import random
import struct
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

INTERESTING = (0, 1, -1, 2, 3, 7, 255, 256, 1 << 15, 1 << 16, (1 << 31) - 1, -(1 << 31), 1 << 30, 0x7FFFFFF0)


# --------------------------------------------------------------------------- model structure


@dataclass
class Field:
    offset: int
    name: str
    value: int


@dataclass
class Layout:
    """Where every structural field of a ggml model file is (offsets into its bytes)."""

    fields: list[Field] = field(default_factory=list)
    tensors: list[tuple[int, int, int]] = field(default_factory=list)  # (record start, data start, end)
    header_end: int = 0  # start of the tensor table
    boundaries: list[int] = field(default_factory=list)


def model_layout(data: bytes, vad: bool) -> Layout:
    lay = Layout()
    pos = 4

    def i32(name: str) -> int:
        nonlocal pos
        value = struct.unpack_from("<i", data, pos)[0]
        lay.fields.append(Field(pos, name, value))
        pos += 4
        return value

    if vad:
        n = i32("type length")
        pos += n
        for name in ("major", "minor", "patch", "n_window", "n_context"):
            i32(name)
        layers = i32("n_encoder_layers")
        for i in range(3 * layers):
            i32(f"encoder field {i}")
        for name in ("lstm_input", "lstm_hidden", "final_in", "final_out"):
            i32(name)
    else:
        for name in ("n_vocab", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
                     "n_text_state", "n_text_head", "n_text_layer", "n_mels", "ftype"):
            i32(name)
        n_mel, n_fft = i32("mel n_mel"), i32("mel n_fft")
        pos += 4 * n_mel * n_fft
        lay.boundaries.append(pos)
        n_tokens = i32("vocab count")
        for i in range(n_tokens):
            length = struct.unpack_from("<I", data, pos)[0]
            if i < 64 or i % 997 == 0 or i == n_tokens - 1:
                lay.fields.append(Field(pos, f"token {i} length", length))
            pos += 4 + length
    lay.header_end = pos
    lay.boundaries.append(pos)
    sizes = {0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32),
             10: (84, 256), 11: (110, 256), 12: (144, 256), 13: (176, 256), 14: (210, 256)}
    while pos < len(data):
        start = pos
        n_dims, name_len, ttype = struct.unpack_from("<3i", data, pos)
        lay.fields += [Field(pos, "n_dims", n_dims), Field(pos + 4, "name length", name_len),
                       Field(pos + 8, "ttype", ttype)]
        pos += 12
        ne = struct.unpack_from(f"<{n_dims}i", data, pos)
        for i, v in enumerate(ne):
            lay.fields.append(Field(pos + 4 * i, f"ne[{i}]", v))
        pos += 4 * n_dims + name_len
        count = 1
        for v in ne[1:]:
            count *= v
        block_bytes, block = sizes[ttype]
        end = pos + count * (ne[0] if ne else 1) // block * block_bytes
        lay.tensors.append((start, pos, end))
        lay.boundaries += [start, pos]
        pos = end
    return lay


def _interesting(value: int, rng: random.Random) -> int:
    choice = rng.random()
    if choice < 0.5:
        return rng.choice(INTERESTING)
    if choice < 0.8:
        return value + rng.choice((-1, 1, -64, 64, value, -value // 2 or 1))
    return rng.randint(-(1 << 31), (1 << 31) - 1)


@dataclass
class Mutant:
    """A mutation of a base file: byte ``patches`` in place, or the file rebuilt from ``pieces``."""

    desc: str
    patches: list[tuple[int, bytes]] | None = None
    pieces: list | None = None  # bytes objects and (start, end) slices of the base


def mutate_model(data: bytes, lay: Layout, rng: random.Random) -> Mutant:
    kind = rng.choices(
        ("field", "field2", "truncate", "trailing", "header-bytes", "payload-bytes", "drop-tensor",
         "repeat-tensor", "name"),
        weights=(40, 10, 14, 4, 10, 8, 5, 4, 5))[0]
    size = len(data)
    patches: list[tuple[int, bytes]] = []
    if kind in ("field", "field2"):
        for _ in range(1 if kind == "field" else rng.randint(2, 4)):
            f = rng.choice(lay.fields)
            new = max(-(1 << 31), min((1 << 31) - 1, _interesting(f.value, rng)))
            patches.append((f.offset, struct.pack("<i", new)))
    elif kind == "truncate":
        edge = rng.choice(lay.boundaries + [size])
        cut = max(0, min(size - 1, edge + rng.randint(-16, 16) if rng.random() < 0.7 else rng.randrange(size)))
        return Mutant(f"truncate:{cut}", pieces=[(0, cut)])
    elif kind == "trailing":
        extra = rng.randbytes(rng.choice((1, 4, 11, 12, 13, 64, 4096)))
        return Mutant(f"trailing:{len(extra)}", pieces=[(0, size), extra])
    elif kind == "header-bytes":
        for _ in range(rng.randint(1, 8)):
            patches.append((rng.randrange(4, lay.header_end + 64), bytes([rng.randrange(256)])))
    elif kind == "payload-bytes":
        for _ in range(rng.randint(1, 16)):
            _start, data_start, end = rng.choice(lay.tensors)
            if end > data_start:
                patches.append((rng.randrange(data_start, end), bytes([rng.randrange(256)])))
    elif kind in ("drop-tensor", "repeat-tensor"):
        i = rng.randrange(len(lay.tensors))
        start, _data_start, end = lay.tensors[i]
        if kind == "drop-tensor":
            return Mutant(f"drop-tensor:{i}", pieces=[(0, start), (end, size)])
        return Mutant(f"repeat-tensor:{i}", pieces=[(0, end), (start, end), (end, size)])
    else:  # a byte of a tensor name
        start, data_start, _end = rng.choice(lay.tensors)
        name_len = struct.unpack_from("<i", data, start + 4)[0]
        patches.append((data_start - rng.randint(1, max(1, name_len)), bytes([rng.randrange(32, 127)])))
    patches = [(o, b) for o, b in patches if o + len(b) <= size]
    return Mutant(f"{kind}:" + ",".join(str(o) for o, _ in patches), patches=patches)


class MutantFile:
    """One file per base in tmpfs: patches are written in place and undone after the run."""

    def __init__(self, path: Path, data: bytes) -> None:
        self.path, self.data = path, data
        self._write([(0, len(data))])
        self._dirty = False

    def _write(self, pieces: list) -> None:
        view = memoryview(self.data)
        with open(self.path, "r+b" if self.path.exists() else "wb") as fp:
            for piece in pieces:
                fp.write(piece if isinstance(piece, bytes) else view[piece[0]:piece[1]])
            fp.truncate()

    def apply(self, mutant: Mutant) -> Path:
        if self._dirty:
            self._write([(0, len(self.data))])
            self._dirty = False
        if mutant.pieces is not None:
            self._write(mutant.pieces)
            self._dirty = True
        else:
            with open(self.path, "r+b") as fp:
                for offset, blob in mutant.patches:
                    fp.seek(offset)
                    fp.write(blob)
        return self.path

    def undo(self, mutant: Mutant) -> None:
        if mutant.patches is not None:
            with open(self.path, "r+b") as fp:
                for offset, blob in reversed(mutant.patches):
                    fp.seek(offset)
                    fp.write(self.data[offset:offset + len(blob)])


# --------------------------------------------------------------------------- audio

#: (suffix, ffmpeg arguments): every container the decoder is fed in practice.
AUDIO_FORMATS = {
    "s16.wav": ["-c:a", "pcm_s16le"], "u8.wav": ["-c:a", "pcm_u8"], "s24.wav": ["-c:a", "pcm_s24le"],
    "f32.wav": ["-c:a", "pcm_f32le"], "flac": ["-c:a", "flac"], "ogg": ["-c:a", "libvorbis"],
    "opus": ["-c:a", "libopus"], "mp3": ["-c:a", "libmp3lame"], "aiff": ["-c:a", "pcm_s16be"],
    "m4a": ["-c:a", "aac"], "webm": ["-c:a", "libopus"],
}


def make_audio_seeds(source: Path, dest: Path, seconds: float = 3.0) -> dict[str, bytes]:
    """Short encodings of ``source`` in every format ffmpeg here can write."""
    dest.mkdir(parents=True, exist_ok=True)
    seeds = {}
    for suffix, args in AUDIO_FORMATS.items():
        out = dest / f"seed.{suffix}"
        proc = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-t", str(seconds), "-i", str(source),
                               *args, str(out)], capture_output=True)
        if proc.returncode == 0:
            seeds[suffix] = out.read_bytes()
    return seeds


def mutate_audio(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choices(("header-int", "header-bytes", "truncate", "splice", "bytes", "trailing", "wav-field"),
                       weights=(25, 20, 15, 10, 10, 5, 15))[0]
    buf = bytearray(data)
    head = min(len(buf), 512)
    if kind == "wav-field" and data[:4] == b"RIFF":
        # RIFF size, fmt: tag, channels, rate, byte rate, block align, bits; data size
        offset, width = rng.choice(((4, 4), (20, 2), (22, 2), (24, 4), (28, 4), (32, 2), (34, 2), (40, 4)))
        value = _interesting(int.from_bytes(buf[offset:offset + width], "little", signed=True), rng)
        buf[offset:offset + width] = (value & ((1 << (8 * width)) - 1)).to_bytes(width, "little")
    elif kind in ("header-int", "wav-field"):
        for _ in range(rng.randint(1, 3)):
            offset = rng.randrange(0, max(1, head - 4)) & ~1
            buf[offset:offset + 4] = struct.pack("<i", _interesting(0, rng))[: len(buf[offset:offset + 4])]
    elif kind == "header-bytes":
        for _ in range(rng.randint(1, 8)):
            buf[rng.randrange(head)] = rng.randrange(256)
    elif kind == "truncate":
        buf = buf[: rng.choice((rng.randrange(max(1, head)), rng.randrange(len(buf))))]
    elif kind == "splice":
        a, b = sorted(rng.randrange(len(buf)) for _ in range(2))
        at = rng.randrange(len(buf))
        buf[at:at] = buf[a:b]
    elif kind == "bytes":
        for _ in range(rng.randint(1, 64)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    else:
        buf += rng.randbytes(rng.randint(1, 4096))
    return kind, bytes(buf)
