"""Convert a CTranslate2 (faster-whisper) Whisper model to whisper.cpp's ggml file.

The goal is a file that is *byte-identical* to the official ``ggml-<name>.bin``
files whisper.cpp publishes (produced by ``models/convert-pt-to-ggml.py`` from
OpenAI's ``.pt`` checkpoints), so a converted model can be verified against
the official SHA1 list instead of being trusted.  That drives every decision:

* Layout (little-endian int32 unless noted)::

      magic "ggml" (0x67676d6c) | n_vocab n_audio_ctx n_audio_state n_audio_head
      n_audio_layer n_text_ctx n_text_state n_text_head n_text_layer n_mels ftype=1
      | n_mels n_fft_bins float32[n_mels * n_fft_bins]      (mel filterbank)
      | n_tokens (int32 len, raw bytes) * n_tokens            (BPE vocabulary)
      | tensors: n_dims name_len ftype dims[reversed] name data

* Tensor order is the key order of OpenAI's checkpoints (which is neither
  alphabetical nor the module order), because the official converter simply
  iterated over the checkpoint's state dict.
* Tensor types follow convert-pt-to-ggml.py: 1-D tensors, the conv biases
  (written as ``[n, 1]``) and both positional embeddings are float32,
  everything else float16.  OpenAI's checkpoints are float16, so the float16
  weights CTranslate2 stores are the original values and widening them to
  float32 is exact.
* CTranslate2 fuses q/k/v (self-attention) and k/v (cross-attention) into one
  linear layer and stores a zero key bias that Whisper does not have; the
  fused rows are split back and the key bias dropped.  Its output projection is
  an alias of the token embedding, which ggml ties implicitly, so it is skipped.
* The vocabulary is the first 50257 token ids as raw bytes, i.e. exactly the
  entries of OpenAI's ``gpt2.tiktoken`` / ``multilingual.tiktoken``: for
  English-only models id 50256 is ``<|endoftext|>``, for multilingual ones it
  is an unused, empty token.  whisper.cpp synthesises the special tokens.
* The mel filterbank is not in a CTranslate2 model.  OpenAI's
  ``mel_filters.npz`` is ``librosa.filters.mel(sr=16000, n_fft=400,
  n_mels=n_mels)`` (slaney scale and norm, float32); it is recomputed here
  with numpy, replicating librosa's float64/float32 operation order so the
  float32 values come out bit-identical.

The CTranslate2 ``model.bin`` (see ``_serialize`` in CTranslate2's
``python/ctranslate2/specs/model_spec.py``) is parsed straight from a memory
map, so float16 weights are written without being copied; only float16
<-> float32 changes, tensors split across ``model.bin.partN`` files and the
small tensors made float32 are materialised, one at a time.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import re
import struct
import tempfile
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, NamedTuple, Sequence

import numpy as np

from whispercli.errors import ConversionError, OutputError
from whispercli.models.validate import HParams

__all__ = ["ConversionResult", "KNOWN_SHA1", "convert_ct2_to_ggml"]

# whisper.cpp v1.9.1 models/README.md: SHA1 of every official ggml file.
KNOWN_SHA1: dict[str, str] = {
    "bd577a113a864445d4c299885e0cb97d4ba92b5f": "tiny",
    "c78c86eb1a8faa21b369bcd33207cc90d64ae9df": "tiny.en",
    "465707469ff3a37a2b9b8d8f89f2f99de7299dac": "base",
    "137c40403d78fd54d454da0f9bd998f78703390c": "base.en",
    "55356645c2b361a969dfd0ef2c5a50d530afd8d5": "small",
    "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022": "small.en",
    "b6c6e7e89af1a35c08e6de56b66ca6a02a2fdfa1": "small.en-tdrz",
    "fd9727b6e1217c2f614f9b698455c4ffd82463b4": "medium",
    "8c30f0e44ce9560643ebd10bbe50cd20eafd3723": "medium.en",
    "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299": "large-v1",
    "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6": "large-v2",
    "00e39f2196344e901b3a2bd5814807a769bd1630": "large-v2-q5_0",
    "ad82bf6a9043ceed055076d0fd39f5f186ff8062": "large-v3",
    "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de": "large-v3-q5_0",
    "4af2b29d7ec73d781377bfd1758ca957a807e941": "large-v3-turbo",
    "e050f7970618a659205450ad97eb95a18d69c9ee": "large-v3-turbo-q5_0",
}

GGML_MAGIC = 0x67676D6C
SAMPLE_RATE = 16000
N_FFT = 400
# Token ids 0..50256: the entries of OpenAI's tiktoken files (see module docstring).
N_BASE_TOKENS = 50257

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

_FTYPE_F32 = 0
_FTYPE_F16 = 1
_COPY_CHUNK = 16 << 20


@dataclass(frozen=True)
class ConversionResult:
    path: Path
    size_bytes: int
    sha1: str
    official_name: str | None


# --------------------------------------------------------------------------------------
# Reading the CTranslate2 model.bin (possibly split into parts)
# --------------------------------------------------------------------------------------


class _Variable(NamedTuple):
    name: str
    shape: tuple[int, ...]
    dtype: str
    offset: int
    n_bytes: int


class _PartedFile:
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


class _Ct2Model:
    """The variable index of a CTranslate2 model.bin; data is read on demand."""

    def __init__(self, data: _PartedFile, label: str) -> None:
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


def _find_model_files(src: Path, extra_parts: Sequence[os.PathLike]) -> list[Path]:
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


# --------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------


def _byte_decoder() -> dict[str, int]:
    """Inverse of GPT-2's ``bytes_to_unicode`` (printable stand-ins for all 256 bytes)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    byte_values = list(printable)
    for b in range(256):
        if b not in printable:
            byte_values.append(b)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(byte_values, chars)}


def _read_tokens(src: Path) -> tuple[list[str], Path]:
    txt = src / "vocabulary.txt"
    if txt.is_file():
        # Split on "\n" only: str.splitlines() would also split on U+0085 & co.
        text = txt.read_text(encoding="utf-8")
        if text.endswith("\n"):
            text = text[:-1]
        return text.split("\n"), txt
    vjson = src / "vocabulary.json"
    if vjson.is_file():
        tokens = json.loads(vjson.read_text(encoding="utf-8"))
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ConversionError(f"{vjson}: expected a JSON list of tokens")
        return tokens, vjson
    tok = src / "tokenizer.json"
    if tok.is_file():
        data = json.loads(tok.read_text(encoding="utf-8"))
        try:
            vocab: dict[str, int] = dict(data["model"]["vocab"])
            for added in data.get("added_tokens", []):
                vocab[added["content"]] = int(added["id"])
        except (KeyError, TypeError, ValueError, AttributeError):
            raise ConversionError(f"{tok}: not a Hugging Face tokenizer.json with a BPE vocabulary") from None
        by_id = [""] * (max(vocab.values(), default=-1) + 1)
        for token, idx in vocab.items():
            by_id[idx] = token
        return by_id, tok
    raise ConversionError(f"{src}: missing vocabulary (no vocabulary.txt, vocabulary.json or tokenizer.json)")


def _vocab_bytes(src: Path) -> list[bytes]:
    try:
        tokens, path = _read_tokens(src)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConversionError(f"{src}: cannot read the vocabulary: {exc}") from exc
    if len(tokens) < N_BASE_TOKENS:
        raise ConversionError(
            f"{path}: vocabulary has {len(tokens)} tokens, expected at least {N_BASE_TOKENS}"
        )
    decoder = _byte_decoder()
    out: list[bytes] = []
    for idx, token in enumerate(tokens[:N_BASE_TOKENS]):
        try:
            out.append(bytes(decoder[c] for c in token))
        except KeyError:
            raise ConversionError(f"{path}: token {idx} ({token!r}) is not a byte-level BPE token") from None
    return out


# --------------------------------------------------------------------------------------
# Mel filterbank (librosa.filters.mel, slaney, float32) in numpy
# --------------------------------------------------------------------------------------

_F_SP = 200.0 / 3  # slaney: linear below 1 kHz, 3 mels per 200 Hz
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP
_LOGSTEP = np.log(6.4) / 27.0


def _hz_to_mel(hz: float) -> np.float64:
    # Scalar branch of librosa.hz_to_mel(htk=False) with fmin == 0.
    hz = np.float64(hz)
    if hz >= _MIN_LOG_HZ:
        return _MIN_LOG_MEL + np.log(hz / _MIN_LOG_HZ) / _LOGSTEP
    return hz / _F_SP


def _mel_to_hz(mels: np.ndarray) -> np.ndarray:
    freqs = _F_SP * mels
    log_t = mels >= _MIN_LOG_MEL
    freqs[log_t] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels[log_t] - _MIN_LOG_MEL))
    return freqs


def mel_filters(n_mels: int, sample_rate: int = SAMPLE_RATE, n_fft: int = N_FFT) -> np.ndarray:
    """``librosa.filters.mel(sr=sample_rate, n_fft=n_fft, n_mels=n_mels)`` as float32.

    The float64 intermediates, the float32 buffer the triangles are stored into
    and the in-place float64 normalisation (a second rounding to float32) are
    all librosa's; changing any of them changes low bits of the output.
    """
    n_bins = 1 + n_fft // 2
    fft_freqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sample_rate)
    mel_pts = np.linspace(_hz_to_mel(0.0), _hz_to_mel(sample_rate / 2.0), n_mels + 2)
    mel_f = _mel_to_hz(mel_pts)
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((n_mels, n_bins), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    # The official file has +0.0 where this arithmetic can yield -0.0.
    weights += np.float32(0.0)
    return weights


# --------------------------------------------------------------------------------------
# The ggml tensor plan
# --------------------------------------------------------------------------------------


def _count_layers(model: _Ct2Model, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"/layer_(\d+)/")
    found = {int(m.group(1)) for name in [*model.variables, *model.aliases] if (m := pattern.match(name))}
    if not found or found != set(range(len(found))):
        raise ConversionError(f"{model.label}: not a Whisper model (no contiguous {prefix} layers)")
    return len(found)


def _hparams(model: _Ct2Model) -> HParams:
    embed = model.info("decoder/embeddings/weight").shape
    text_pos = model.info("decoder/position_encodings/encodings").shape
    audio_pos = model.info("encoder/position_encodings/encodings").shape
    conv1 = model.info("encoder/conv1/weight").shape
    if len(embed) != 2 or len(text_pos) != 2 or len(audio_pos) != 2 or len(conv1) != 3:
        raise ConversionError(f"{model.label}: not a Whisper model (unexpected embedding/conv shapes)")
    n_text_state = embed[1]
    n_audio_state = audio_pos[1]
    # Every Whisper size uses 64-wide heads; the stored count wins when present.
    n_audio_head = model.scalar("encoder/num_heads") or n_audio_state // 64
    n_text_head = model.scalar("decoder/num_heads") or n_text_state // 64
    return HParams(
        n_vocab=embed[0],
        n_audio_ctx=audio_pos[0],
        n_audio_state=n_audio_state,
        n_audio_head=n_audio_head,
        n_audio_layer=_count_layers(model, "encoder"),
        n_text_ctx=text_pos[0],
        n_text_state=n_text_state,
        n_text_head=n_text_head,
        n_text_layer=_count_layers(model, "decoder"),
        n_mels=conv1[1],
        ftype=_FTYPE_F16,
    )


class _Tensor(NamedTuple):
    ggml_name: str
    ct2_name: str
    rows: slice | None  # a row range of a fused CTranslate2 weight/bias
    ftype: int
    shape: tuple[int, ...] | None = None  # override (conv bias -> [n, 1])


def _attention(ct2: str, out: str, cross: bool, d: int) -> Iterator[_Tensor]:
    """Whisper's q, k (no bias), v, out from CTranslate2's fused projections."""
    if cross:
        q_name, kv_name, o_name = f"{ct2}/linear_0", f"{ct2}/linear_1", f"{ct2}/linear_2"
        q_rows, k_rows, v_rows = None, slice(0, d), slice(d, 2 * d)
    else:
        q_name = kv_name = f"{ct2}/linear_0"
        o_name = f"{ct2}/linear_1"
        q_rows, k_rows, v_rows = slice(0, d), slice(d, 2 * d), slice(2 * d, 3 * d)
    yield _Tensor(f"{out}_ln.weight", f"{ct2}/layer_norm/gamma", None, _FTYPE_F32)
    yield _Tensor(f"{out}_ln.bias", f"{ct2}/layer_norm/beta", None, _FTYPE_F32)
    yield _Tensor(f"{out}.query.weight", f"{q_name}/weight", q_rows, _FTYPE_F16)
    yield _Tensor(f"{out}.query.bias", f"{q_name}/bias", q_rows, _FTYPE_F32)
    yield _Tensor(f"{out}.key.weight", f"{kv_name}/weight", k_rows, _FTYPE_F16)
    yield _Tensor(f"{out}.value.weight", f"{kv_name}/weight", v_rows, _FTYPE_F16)
    yield _Tensor(f"{out}.value.bias", f"{kv_name}/bias", v_rows, _FTYPE_F32)
    yield _Tensor(f"{out}.out.weight", f"{o_name}/weight", None, _FTYPE_F16)
    yield _Tensor(f"{out}.out.bias", f"{o_name}/bias", None, _FTYPE_F32)


def _block(ct2: str, out: str) -> Iterator[_Tensor]:
    yield _Tensor(f"{out}.mlp_ln.weight", f"{ct2}/ffn/layer_norm/gamma", None, _FTYPE_F32)
    yield _Tensor(f"{out}.mlp_ln.bias", f"{ct2}/ffn/layer_norm/beta", None, _FTYPE_F32)
    yield _Tensor(f"{out}.mlp.0.weight", f"{ct2}/ffn/linear_0/weight", None, _FTYPE_F16)
    yield _Tensor(f"{out}.mlp.0.bias", f"{ct2}/ffn/linear_0/bias", None, _FTYPE_F32)
    yield _Tensor(f"{out}.mlp.2.weight", f"{ct2}/ffn/linear_1/weight", None, _FTYPE_F16)
    yield _Tensor(f"{out}.mlp.2.bias", f"{ct2}/ffn/linear_1/bias", None, _FTYPE_F32)


def _tensor_plan(model: _Ct2Model, hp: HParams) -> list[_Tensor]:
    """Every ggml tensor, in the key order of OpenAI's checkpoints."""
    plan = [
        _Tensor("decoder.positional_embedding", "decoder/position_encodings/encodings", None, _FTYPE_F32),
        _Tensor("encoder.positional_embedding", "encoder/position_encodings/encodings", None, _FTYPE_F32),
        _Tensor("decoder.token_embedding.weight", "decoder/embeddings/weight", None, _FTYPE_F16),
    ]
    for i in range(hp.n_text_layer):
        ct2, out = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        plan += _block(ct2, out)
        plan += _attention(f"{ct2}/self_attention", f"{out}.attn", False, hp.n_text_state)
        plan += _attention(f"{ct2}/attention", f"{out}.cross_attn", True, hp.n_text_state)
    plan += [
        _Tensor("decoder.ln.weight", "decoder/layer_norm/gamma", None, _FTYPE_F32),
        _Tensor("decoder.ln.bias", "decoder/layer_norm/beta", None, _FTYPE_F32),
        _Tensor("encoder.conv1.weight", "encoder/conv1/weight", None, _FTYPE_F16),
        _Tensor("encoder.conv1.bias", "encoder/conv1/bias", None, _FTYPE_F32, (hp.n_audio_state, 1)),
        _Tensor("encoder.conv2.weight", "encoder/conv2/weight", None, _FTYPE_F16),
        _Tensor("encoder.conv2.bias", "encoder/conv2/bias", None, _FTYPE_F32, (hp.n_audio_state, 1)),
    ]
    for i in range(hp.n_audio_layer):
        ct2, out = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        plan += _block(ct2, out)
        plan += _attention(f"{ct2}/self_attention", f"{out}.attn", False, hp.n_audio_state)
    plan += [
        _Tensor("encoder.ln_post.weight", "encoder/layer_norm/gamma", None, _FTYPE_F32),
        _Tensor("encoder.ln_post.bias", "encoder/layer_norm/beta", None, _FTYPE_F32),
    ]
    return plan


def _check_layout(model: _Ct2Model, hp: HParams, plan: list[_Tensor]) -> None:
    """Fail before writing anything if a variable is missing or has the wrong shape."""
    for t in plan:
        var = model.info(t.ct2_name)
        if var.dtype not in ("float16", "float32"):
            raise ConversionError(
                f"{model.label}: variable {t.ct2_name} has dtype {var.dtype}, expected float16/float32"
            )
        if t.rows is not None and (not var.shape or var.shape[0] < t.rows.stop):
            raise ConversionError(
                f"{model.label}: not a Whisper model ({t.ct2_name} has shape {var.shape}, "
                f"expected at least {t.rows.stop} rows)"
            )
    # The fused key bias must be the zero CTranslate2 inserts: ggml Whisper has none.
    for layer, prefix, cross in [
        *((i, "decoder", False) for i in range(hp.n_text_layer)),
        *((i, "decoder", True) for i in range(hp.n_text_layer)),
        *((i, "encoder", False) for i in range(hp.n_audio_layer)),
    ]:
        d = hp.n_text_state if prefix == "decoder" else hp.n_audio_state
        fused = "attention/linear_1/bias" if cross else "self_attention/linear_0/bias"
        name = f"{prefix}/layer_{layer}/{fused}"
        key_rows = slice(0, d) if cross else slice(d, 2 * d)
        if np.any(model.float_array(name)[key_rows]):
            raise ConversionError(
                f"{model.label}: {name} has a non-zero key bias, which Whisper does not have"
            )


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------


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
    w: _HashingWriter, model: _Ct2Model, hp: HParams, vocab: list[bytes], plan: list[_Tensor]
) -> None:
    w.write(struct.pack("<12i", GGML_MAGIC, *astuple(hp)))

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
        data = data.astype("<f2" if t.ftype == _FTYPE_F16 else "<f4", copy=False)
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
    files = _find_model_files(src, extra_parts)
    label = str(files[0]) if len(files) == 1 else f"{files[0]} (+{len(files) - 1} parts)"

    data = _PartedFile(files)
    try:
        model = _Ct2Model(data, label)
        hp = _hparams(model)
        plan = _tensor_plan(model, hp)
        _check_layout(model, hp, plan)
        vocab = _vocab_bytes(src)

        try:
            fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        except OSError as exc:
            raise OutputError(f"{out}: cannot create the output file: {exc.strerror}") from exc
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                writer = _HashingWriter(fh)
                _write_ggml(writer, model, hp, vocab, plan)
            # mkstemp makes the file 0600; give it the mode a plain open() would.
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, out)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise OutputError(f"{out}: cannot write the output file: {exc.strerror or exc}") from exc
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    finally:
        data.close()

    sha1 = writer.sha1.hexdigest()
    return ConversionResult(path=out, size_bytes=writer.size, sha1=sha1, official_name=KNOWN_SHA1.get(sha1))
