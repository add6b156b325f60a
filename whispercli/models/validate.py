"""Structural checks of ggml model files, run before libwhisper reads a byte.

libwhisper's loader trusts every size it reads: a changed hyper-parameter, count or
tensor header makes it allocate what the file does not hold, index past its arrays
or divide by zero.  :func:`validate_model` and :func:`validate_vad_model` read the
headers (and seek over the tensor data) and accept only what a real Whisper or
Silero-VAD architecture has, with every byte accounted for.  They cost milliseconds:
the vocabulary is the largest part they read.

The layout (whisper.cpp v1.9.1 ``whisper_model_load``): magic, 11 int32
hyper-parameters, the mel filters (``n_mel``, ``n_fft``, floats), the vocabulary
(count, then length-prefixed tokens), then tensors until the end of the file, each
``n_dims, name length, ggml type, ne[n_dims], name, data``.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

from ..constants import GGML_MAGIC
from ..errors import ModelFormatError

# ggml_type -> (name, bytes per block, values per block) for the types a model can hold.
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("f32", 4, 1), 1: ("f16", 2, 1),
    2: ("q4_0", 18, 32), 3: ("q4_1", 20, 32), 6: ("q5_0", 22, 32), 7: ("q5_1", 24, 32), 8: ("q8_0", 34, 32),
    10: ("q2_k", 84, 256), 11: ("q3_k", 110, 256), 12: ("q4_k", 144, 256), 13: ("q5_k", 176, 256),
    14: ("q6_k", 210, 256),
}
F32, F16 = 0, 1
#: ggml_ftype (the header's file type) -> the ggml_type of the big matrices.
FTYPE_WEIGHT_TYPE = {0: 0, 1: 1, 2: 2, 3: 3, 7: 8, 8: 6, 9: 7, 10: 10, 11: 11, 12: 12, 13: 13, 14: 14}
QNT_VERSION_FACTOR = 1000  # whisper.cpp stores ftype + GGML_QNT_VERSION * 1000
MAX_QNT_VERSION = 2

#: The shapes every released Whisper model has (tiny ... large-v3, turbo, distil: fewer decoder layers).
N_VOCABS = (51864, 51865, 51866)  # English-only, multilingual, large-v3 (one more language)
N_AUDIO_CTX = 1500  # 30 s of mel frames after the stride-2 convolution
N_TEXT_CTX = 448
WIDTHS = (384, 512, 768, 1024, 1280)
HEAD_DIM = 64
MAX_LAYERS = 32
N_MELS = (80, 128)
N_FFT_BINS = 201  # 1 + WHISPER_N_FFT / 2
MAX_TOKEN_BYTES = 1024
MAX_NAME_BYTES = 256
MAX_DIMS = 4


@dataclass(frozen=True)
class HParams:
    """The 11 int32 after the magic, in file order (convert.py writes them, the validator reads them)."""

    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int
    ftype: int


@dataclass(frozen=True)
class ModelSummary:
    """What a valid file holds (for messages and tests)."""

    hparams: HParams
    weight_type: str  # "f16", "q8_0", ...
    n_tokens: int  # vocabulary entries stored in the file
    n_tensors: int
    size_bytes: int


@dataclass(frozen=True)
class VadSummary:
    model_type: str
    version: str
    n_tensors: int
    size_bytes: int


class _Reader:
    """Bounded reads of one file; any read past its end is a truncation error."""

    def __init__(self, path: Path, fp, size: int) -> None:
        self.path, self.fp, self.size = path, fp, size
        self.pos = 0
        self._buf = b""
        self._buf_start = 0

    def fail(self, what: str) -> ModelFormatError:
        return ModelFormatError(f"cannot load model {str(self.path)!r}: {what}")

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise self.fail(f"truncated: {what} needs {n} bytes at offset {self.pos}, the file has {self.size}")

    def read(self, n: int, what: str) -> bytes:
        self.need(n, what)
        lo = self.pos - self._buf_start
        if lo < 0 or lo + n > len(self._buf):
            self.fp.seek(self.pos)
            self._buf = self.fp.read(max(n, 1 << 16))
            self._buf_start, lo = self.pos, 0
        self.pos += n
        return self._buf[lo:lo + n]

    def i32s(self, count: int, what: str) -> tuple[int, ...]:
        return struct.unpack(f"<{count}i", self.read(4 * count, what))

    def i32(self, what: str) -> int:
        return self.i32s(1, what)[0]

    def skip(self, n: int, what: str) -> None:
        self.need(n, what)
        self.pos += n


def _open(path: str | os.PathLike) -> tuple[Path, object, int]:
    p = Path(path)
    try:
        fp = open(p, "rb", buffering=0)
        size = os.fstat(fp.fileno()).st_size
    except OSError as exc:
        raise ModelFormatError(f"cannot read model {str(p)!r}: {exc.strerror or exc}") from None
    return p, fp, size


def _check_magic(r: _Reader) -> None:
    if r.read(4, "the magic") != GGML_MAGIC:
        raise r.fail("not a ggml model (bad magic)")


def _check_hparams(r: _Reader, hp: HParams) -> int:
    """Raise unless ``hp`` is a Whisper architecture; return the weights' ggml type."""

    def bad(field: str, value: int, expected: str) -> ModelFormatError:
        return r.fail(f"hyper-parameter {field} = {value}, expected {expected}")

    if hp.n_vocab not in N_VOCABS:
        raise bad("n_vocab", hp.n_vocab, " or ".join(map(str, N_VOCABS)))
    if hp.n_audio_ctx != N_AUDIO_CTX:
        raise bad("n_audio_ctx", hp.n_audio_ctx, str(N_AUDIO_CTX))
    if hp.n_text_ctx != N_TEXT_CTX:
        raise bad("n_text_ctx", hp.n_text_ctx, str(N_TEXT_CTX))
    state = hp.n_audio_state
    if state not in WIDTHS:
        raise bad("n_audio_state", state, "one of " + ", ".join(map(str, WIDTHS)))
    if hp.n_text_state != state:
        raise bad("n_text_state", hp.n_text_state, f"{state} (= n_audio_state)")
    for side in ("audio", "text"):
        head = getattr(hp, f"n_{side}_head")
        if head != state // HEAD_DIM:
            raise bad(f"n_{side}_head", head, f"{state // HEAD_DIM} (n_{side}_state / {HEAD_DIM})")
        layers = getattr(hp, f"n_{side}_layer")
        if not 1 <= layers <= MAX_LAYERS:
            raise bad(f"n_{side}_layer", layers, f"1 to {MAX_LAYERS}")
    if hp.n_mels not in N_MELS:
        raise bad("n_mels", hp.n_mels, " or ".join(map(str, N_MELS)))
    qnt_version, ftype = divmod(hp.ftype, QNT_VERSION_FACTOR) if hp.ftype >= 0 else (-1, -1)
    if ftype not in FTYPE_WEIGHT_TYPE or not 0 <= qnt_version <= MAX_QNT_VERSION:
        raise bad("ftype", hp.ftype, "a ggml file type (f32, f16, q4_0 ... q8_0, q2_k ... q6_k)")
    wtype = FTYPE_WEIGHT_TYPE[ftype]
    block = GGML_TYPES[wtype][2]
    if hp.n_audio_state % block:
        # ggml cannot store a row that is not whole blocks (k-quants of tiny's 384 columns).
        raise r.fail(f"{GGML_TYPES[wtype][0]} needs rows of whole {block}-value blocks; "
                     f"n_audio_state {hp.n_audio_state} is not a multiple of {block}")
    return wtype


def _expected_tensors(hp: HParams, wtype: int) -> dict[str, tuple[tuple[int, ...], int]]:
    """Every tensor libwhisper creates: name -> (ne, ggml type), as ``whisper_model_load`` does."""
    n, n_mels = hp.n_audio_state, hp.n_mels
    conv = F32 if wtype == F32 else F16
    out: dict[str, tuple[tuple[int, ...], int]] = {
        "encoder.positional_embedding": ((n, hp.n_audio_ctx), F32),
        "encoder.conv1.weight": ((3, n_mels, n), conv),
        "encoder.conv1.bias": ((1, n), F32),
        "encoder.conv2.weight": ((3, n, n), conv),
        "encoder.conv2.bias": ((1, n), F32),
        "encoder.ln_post.weight": ((n,), F32),
        "encoder.ln_post.bias": ((n,), F32),
        "decoder.positional_embedding": ((n, hp.n_text_ctx), F32),
        "decoder.token_embedding.weight": ((n, hp.n_vocab), wtype),
        "decoder.ln.weight": ((n,), F32),
        "decoder.ln.bias": ((n,), F32),
    }

    def attention(prefix: str) -> None:
        out[f"{prefix}_ln.weight"] = ((n,), F32)
        out[f"{prefix}_ln.bias"] = ((n,), F32)
        for part in ("query", "key", "value", "out"):
            out[f"{prefix}.{part}.weight"] = ((n, n), wtype)
            if part != "key":
                out[f"{prefix}.{part}.bias"] = ((n,), F32)

    def block(prefix: str, cross: bool) -> None:
        out[f"{prefix}.mlp_ln.weight"] = ((n,), F32)
        out[f"{prefix}.mlp_ln.bias"] = ((n,), F32)
        out[f"{prefix}.mlp.0.weight"] = ((n, 4 * n), wtype)
        out[f"{prefix}.mlp.0.bias"] = ((4 * n,), F32)
        out[f"{prefix}.mlp.2.weight"] = ((4 * n, n), wtype)
        out[f"{prefix}.mlp.2.bias"] = ((n,), F32)
        attention(f"{prefix}.attn")
        if cross:
            attention(f"{prefix}.cross_attn")

    for i in range(hp.n_audio_layer):
        block(f"encoder.blocks.{i}", cross=False)
    for i in range(hp.n_text_layer):
        block(f"decoder.blocks.{i}", cross=True)
    return out


def _padded(ne: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(ne) + (1,) * (MAX_DIMS - len(ne))


def _nbytes(ne: tuple[int, ...], ttype: int) -> int:
    _name, block_bytes, block = GGML_TYPES[ttype]
    rows = 1
    for d in ne[1:]:
        rows *= d
    return rows * (ne[0] // block) * block_bytes


def _fmt_shape(ne: tuple[int, ...]) -> str:
    return "[" + ", ".join(map(str, ne)) + "]"


def _check_tensors(r: _Reader, expected: dict[str, tuple[tuple[int, ...], int]]) -> int:
    """Walk the tensor table to the end of the file; every expected tensor exactly once."""
    seen: set[str] = set()
    while r.pos < r.size:
        n_dims, name_len, ttype = r.i32s(3, "a tensor header")
        if not 0 <= n_dims <= MAX_DIMS:
            raise r.fail(f"tensor #{len(seen)} at offset {r.pos - 12}: {n_dims} dimensions (at most {MAX_DIMS})")
        if not 1 <= name_len <= MAX_NAME_BYTES:
            raise r.fail(f"tensor #{len(seen)} at offset {r.pos - 12}: name length {name_len} "
                         f"(1 to {MAX_NAME_BYTES} bytes)")
        ne = r.i32s(n_dims, "a tensor shape")
        raw_name = r.read(name_len, "a tensor name")
        name = raw_name.decode("ascii", "backslashreplace")
        if name not in expected:
            raise r.fail(f"unknown tensor {name!r}")
        if name in seen:
            raise r.fail(f"tensor {name} appears twice")
        seen.add(name)
        shape, want_type = expected[name]
        if _padded(ne) != _padded(shape):
            raise r.fail(f"tensor {name}: shape {_fmt_shape(ne)}, expected {_fmt_shape(shape)}")
        if ttype != want_type:
            got = GGML_TYPES[ttype][0] if ttype in GGML_TYPES else f"ggml type {ttype}"
            raise r.fail(f"tensor {name}: type {got}, expected {GGML_TYPES[want_type][0]}")
        r.skip(_nbytes(_padded(shape), ttype), f"the data of tensor {name}")
    missing = [name for name in expected if name not in seen]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise r.fail(f"tensor {missing[0]} is missing{more}")
    return len(seen)


def _skip_tokens(r: _Reader, n_tokens: int) -> None:
    """Walk ``n_tokens`` length-prefixed tokens (a tight loop: this is most of the validation time)."""
    chunk = 1 << 20
    unpack = struct.Struct("<I").unpack_from
    buf, base, off = b"", r.pos, 0  # buf holds the file from offset base; off is relative to base
    for i in range(n_tokens):
        if off + 4 + MAX_TOKEN_BYTES > len(buf) and base + len(buf) < r.size:
            r.fp.seek(base + off)
            buf, base, off = r.fp.read(chunk), base + off, 0
        if off + 4 > len(buf):
            r.pos = base + off
            r.need(4, f"the length of token {i}")
        (length,) = unpack(buf, off)
        if length > MAX_TOKEN_BYTES:
            raise r.fail(f"token {i} is {length} bytes long (at most {MAX_TOKEN_BYTES})")
        off += 4 + length
        if off > len(buf):
            r.pos = base + off - length
            r.need(length, f"token {i}")
    r.pos = base + off


def validate_model(path: str | os.PathLike) -> ModelSummary:
    """Raise :class:`ModelFormatError` unless ``path`` is a well-formed ggml Whisper model."""
    p, fp, size = _open(path)
    with fp:
        r = _Reader(p, fp, size)
        _check_magic(r)
        hp = HParams(*r.i32s(11, "the hyper-parameters"))
        wtype = _check_hparams(r, hp)
        n_mel, n_fft = r.i32s(2, "the mel filter header")
        if n_mel != hp.n_mels or n_fft != N_FFT_BINS:
            raise r.fail(f"mel filters [{n_mel}, {n_fft}], expected [{hp.n_mels}, {N_FFT_BINS}]")
        r.skip(4 * n_mel * n_fft, "the mel filters")
        n_tokens = r.i32("the vocabulary size")
        if not 1 <= n_tokens <= hp.n_vocab:
            raise r.fail(f"vocabulary of {n_tokens} tokens, expected 1 to {hp.n_vocab} (n_vocab)")
        _skip_tokens(r, n_tokens)
        n_tensors = _check_tensors(r, _expected_tensors(hp, wtype))
    return ModelSummary(hp, GGML_TYPES[wtype][0], n_tokens, n_tensors, size)


# --------------------------------------------------------------------------- Silero VAD

#: The one Silero-VAD architecture libwhisper's graph implements (v5 and v6 models):
#: a 258-row STFT basis (129 bins), four convolutions, a 128-wide LSTM, a 1-channel output.
VAD_WINDOW, VAD_CONTEXT = 512, 64
VAD_ENCODER = ((129, 128, 3), (128, 64, 3), (64, 64, 3), (64, 128, 3))  # (in, out, kernel)
VAD_LSTM = 128
MAX_VAD_TYPE_BYTES = 64


def _vad_expected() -> dict[str, tuple[tuple[int, ...], int]]:
    out: dict[str, tuple[tuple[int, ...], int]] = {
        "_model.stft.forward_basis_buffer": ((256, 1, 258), F16),
    }
    for i, (c_in, c_out, kernel) in enumerate(VAD_ENCODER):
        out[f"_model.encoder.{i}.reparam_conv.weight"] = ((kernel, c_in, c_out), F16)
        out[f"_model.encoder.{i}.reparam_conv.bias"] = ((c_out,), F32)
    for part in ("ih", "hh"):
        out[f"_model.decoder.rnn.weight_{part}"] = ((VAD_LSTM, 4 * VAD_LSTM), F32)
        out[f"_model.decoder.rnn.bias_{part}"] = ((4 * VAD_LSTM,), F32)
    out["_model.decoder.decoder.2.weight"] = ((VAD_LSTM, 1), F16)
    out["_model.decoder.decoder.2.bias"] = ((1,), F32)
    return out


def validate_vad_model(path: str | os.PathLike) -> VadSummary:
    """Raise :class:`ModelFormatError` unless ``path`` is a well-formed ggml Silero-VAD model."""
    p, fp, size = _open(path)
    with fp:
        r = _Reader(p, fp, size)
        _check_magic(r)
        type_len = r.i32("the model type length")
        if not 1 <= type_len <= MAX_VAD_TYPE_BYTES:
            raise r.fail(f"VAD model type length {type_len} (1 to {MAX_VAD_TYPE_BYTES} bytes)")
        model_type = r.read(type_len, "the model type").decode("ascii", "backslashreplace")
        major, minor, patch, n_window, n_context = r.i32s(5, "the VAD header")
        if (n_window, n_context) != (VAD_WINDOW, VAD_CONTEXT):
            raise r.fail(f"VAD window {n_window} and context {n_context}, expected {VAD_WINDOW} and {VAD_CONTEXT}")
        n_layers = r.i32("the encoder layer count")
        if n_layers != len(VAD_ENCODER):
            raise r.fail(f"VAD encoder has {n_layers} layers, expected {len(VAD_ENCODER)}")
        for i, want in enumerate(VAD_ENCODER):
            got = r.i32s(3, f"encoder layer {i}")
            if got != want:
                raise r.fail(f"VAD encoder layer {i}: (in, out, kernel) = {got}, expected {want}")
        lstm_in, lstm_hidden, final_in, final_out = r.i32s(4, "the LSTM header")
        if (lstm_in, lstm_hidden, final_in, final_out) != (VAD_LSTM, VAD_LSTM, VAD_LSTM, 1):
            raise r.fail(f"VAD LSTM and output sizes {(lstm_in, lstm_hidden, final_in, final_out)}, "
                         f"expected {(VAD_LSTM, VAD_LSTM, VAD_LSTM, 1)}")
        n_tensors = _check_tensors(r, _vad_expected())
    return VadSummary(model_type, f"{major}.{minor}.{patch}", n_tensors, size)
