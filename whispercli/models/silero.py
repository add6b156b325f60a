"""Silero VAD from the PyPI ``silero-vad`` wheel to whisper.cpp's ggml VAD file, without torch.

The wheel ships ``silero_vad/data/silero_vad.jit``, a TorchScript archive: a zip with
``<prefix>/data.pkl`` (the module tree, pickled, its tensors as references to storages)
and ``<prefix>/data/<key>`` (each storage's raw little-endian bytes).  A restricted
unpickler rebuilds the tree with stand-ins for torch's classes, so numpy is enough.

The file written follows whisper.cpp's ``models/convert-silero-vad-to-ggml.py`` byte
for byte: the 16 kHz model only, 15 tensors in that script's order, conv weights and
the STFT basis as f16, the rest f32, dims reversed (the STFT basis keeps its 3 dims,
other tensors are squeezed first), and the silero-vad release in the header.  With the
wheels listed in :data:`~whispercli.models.pypi.PYPI_SOURCES` the result has the SHA1 of
the official ``ggml-silero-v*.bin`` files (6.2.0 to 6.2.3 carry the same weights).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np

from ..constants import GGML_MAGIC_U32
from ..convert import ConversionResult
from ..errors import ConversionError, ModelError, ModelFormatError, ModelNotFoundError
from ..fileio import atomic_write
from .registry import MODELS, VAD_NAMES

MODEL_TYPE = b"silero-16k"
N_ENCODER_LAYERS = 4
# (window samples, context samples), then per encoder layer (in, out, kernel), LSTM (in, hidden),
# final conv (in, out): the architecture constants the script writes, in its order.
_HEADER_INTS = (
    512, 64, N_ENCODER_LAYERS,
    129, 128, 3, 128, 64, 3, 64, 64, 3, 64, 128, 3,
    128, 128,
    128, 1,
)
_STFT = "_model.stft.forward_basis_buffer"
# What whisper.cpp's loader expects of each tensor, in file order: (name, ftype 1 = f16, ggml dims).
TENSOR_LAYOUT = (
    *((f"_model.encoder.{i}.reparam_conv.{kind}", 1 if kind == "weight" else 0, dims)
      for i, (n_in, n_out) in enumerate(((129, 128), (128, 64), (64, 64), (64, 128)))
      for kind, dims in (("weight", (3, n_in, n_out)), ("bias", (n_out,)))),
    ("_model.decoder.rnn.weight_ih", 0, (128, 512)), ("_model.decoder.rnn.weight_hh", 0, (128, 512)),
    ("_model.decoder.rnn.bias_ih", 0, (512,)), ("_model.decoder.rnn.bias_hh", 0, (512,)),
    ("_model.decoder.decoder.2.weight", 1, (128,)), ("_model.decoder.decoder.2.bias", 0, ()),
    (_STFT, 1, (256, 1, 258)),
)
_DTYPES = {"FloatStorage": "<f4", "HalfStorage": "<f2", "DoubleStorage": "<f8"}


class _Module:
    """Stand-in for a pickled ``__torch__`` module: keeps its attribute dict."""

    def __init__(self, *args) -> None:
        self.attrs: dict = {}

    def __setstate__(self, state) -> None:
        self.attrs = state if isinstance(state, dict) else {}


class _TensorRef:
    def __init__(self, storage: tuple, offset: int, shape: tuple, stride: tuple) -> None:
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


def _rebuild_tensor(storage, offset, shape, stride, *_ignored) -> _TensorRef:
    return _TensorRef(storage, offset, shape, stride)


class _Unpickler(pickle.Unpickler):
    """Only the globals a TorchScript ``data.pkl`` uses; anything else is refused (no code runs)."""

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name.endswith("Storage"):
            return name
        if module == "torch.jit._pickle" and name.startswith("build_"):
            return lambda value: value
        if module == "collections" and name == "OrderedDict":
            return dict
        if module.startswith("__torch__."):
            return type(name, (_Module,), {})
        raise ConversionError(f"unexpected object {module}.{name} in TorchScript archive")

    def persistent_load(self, pid):
        return tuple(pid)


def _walk(node, prefix: str, out: dict[str, _TensorRef]) -> None:
    if isinstance(node, _Module):
        for key, value in node.attrs.items():
            _walk(value, f"{prefix}{key}.", out)
    elif isinstance(node, _TensorRef):
        out[prefix[:-1]] = node


def read_torchscript_tensors(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Every tensor attribute of a TorchScript archive's module tree, by dotted name."""
    try:
        with zipfile.ZipFile(path) as zf:
            pkl = [n for n in zf.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
            if len(pkl) != 1:
                raise ConversionError(f"{os.fspath(path)!r} is not a TorchScript archive (no data.pkl)")
            root = pkl[0][: -len("data.pkl")]
            refs: dict[str, _TensorRef] = {}
            _walk(_Unpickler(zf.open(pkl[0])).load(), "", refs)
            arrays = {}
            for name, ref in refs.items():
                _kind, storage_type, key, _location, numel = ref.storage
                dtype = np.dtype(_DTYPES[storage_type])
                flat = np.frombuffer(zf.read(f"{root}data/{key}"), dtype=dtype, count=int(numel))
                view = np.lib.stride_tricks.as_strided(
                    flat[ref.offset:], shape=ref.shape, strides=[s * dtype.itemsize for s in ref.stride])
                arrays[name] = np.array(view, dtype=dtype.newbyteorder("="))
            return arrays
    except (zipfile.BadZipFile, pickle.UnpicklingError, KeyError, ValueError, EOFError, TypeError) as exc:
        raise ConversionError(f"cannot read TorchScript archive {os.fspath(path)!r}: {exc}") from None
    except OSError as exc:
        raise ModelError(f"cannot read {os.fspath(path)!r}: {exc.strerror or exc}") from None


def silero_ggml_bytes(tensors: dict[str, np.ndarray], version: tuple[int, int, int]) -> bytes:
    """The ggml file whisper.cpp's converter writes for these 16 kHz tensors."""
    out = [struct.pack("<ii", GGML_MAGIC_U32, len(MODEL_TYPE)), MODEL_TYPE,
           struct.pack("<3i", *version), struct.pack(f"<{len(_HEADER_INTS)}i", *_HEADER_INTS)]
    for name, _ftype, _dims in TENSOR_LAYOUT:
        if name not in tensors:
            raise ConversionError(f"Silero model has no tensor {name}")
        data = tensors[name]
        if name == _STFT:
            if data.ndim != 3:
                raise ConversionError(f"{name} has shape {data.shape}, expected 3 dims")
            is_conv_weight = True
        else:
            data = data.squeeze()
            is_conv_weight = name.endswith("weight") and (".encoder." in name or ".decoder.decoder.2." in name)
        dims = list(reversed(data.shape))[:4]
        data = data.astype("<f2" if is_conv_weight else "<f4")
        encoded = name.encode()
        out += [struct.pack("<3i", len(dims), len(encoded), 1 if is_conv_weight else 0),
                struct.pack(f"<{len(dims)}i", *dims), encoded, np.ascontiguousarray(data).tobytes()]
    return b"".join(out)


def convert_silero_jit_to_ggml(jit_path: str | os.PathLike, out_path: str | os.PathLike,
                               version: tuple[int, int, int]) -> ConversionResult:
    """Write ``out_path`` (atomically) from ``silero_vad.jit``; ``version`` goes into the header."""
    tensors = read_torchscript_tensors(jit_path)
    blob = silero_ggml_bytes(tensors, version)
    with atomic_write(out_path, error=ModelError) as fp:
        fp.write(blob)
    sha1 = hashlib.sha1(blob).hexdigest()
    official = {info.sha1: name for name, info in MODELS.items() if name in VAD_NAMES}.get(sha1)
    return ConversionResult(Path(out_path), len(blob), sha1, official)


def check_vad_model_file(path: str | os.PathLike) -> Path:
    """Raise a typed error unless ``path`` is a Silero VAD file whisper.cpp can load safely.

    libwhisper's VAD loader trusts the lengths in the file (a huge string length is a huge
    allocation), so the whole layout is checked first, by :func:`whispercli.models.validate.validate_vad_model`.
    """
    from .validate import validate_vad_model

    p = Path(path)
    label = os.fspath(path)
    if not p.is_file():
        if p.exists():
            raise ModelError(f"VAD model path is not a file: {label!r}")
        raise ModelNotFoundError(f"VAD model not found: {label!r}")
    try:
        validate_vad_model(p)
    except ModelFormatError as exc:
        reason = str(exc).split(": ", 1)[-1]
        raise ModelFormatError(f"not a Silero VAD ggml model ({reason}): {label!r}") from None
    return p
