"""Hostile model files: the validator names each kind of damage, and libwhisper (patched) survives them too."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT
from whispercli import Model, ModelError, ModelFormatError
from whispercli.cli.exit_codes import ExitStatus
from whispercli.models.validate import validate_model, validate_vad_model

sys.path.insert(0, str(ROOT))
from benchmarks.fuzz_mutations import Mutant, model_layout  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tiny_en_path) -> tuple[bytes, object]:
    data = tiny_en_path.read_bytes()
    return data, model_layout(data, vad=False)


@pytest.fixture(scope="module")
def vad_path(models_dir) -> Path:
    path = models_dir / "ggml-silero-v6.2.0.bin"
    if not path.is_file():
        pytest.skip("the Silero VAD model is not in the model cache (whispercli download-model silero-v6.2.0)")
    return path


def _field(layout, name: str, nth: int = 0):
    return [f for f in layout.fields if f.name == name][nth]


def _tensor(data: bytes, layout, name: str) -> tuple[int, int, int]:
    for start, data_start, end in layout.tensors:
        n_dims, name_len, _ = struct.unpack_from("<3i", data, start)
        if data[start + 12 + 4 * n_dims:start + 12 + 4 * n_dims + name_len] == name.encode():
            return start, data_start, end
    raise KeyError(name)


def _write(tmp_path: Path, data: bytes, mutant: Mutant) -> Path:
    out = bytearray(data)
    if mutant.pieces is not None:
        out = b"".join(p if isinstance(p, bytes) else data[p[0]:p[1]] for p in mutant.pieces)
    else:
        for offset, blob in mutant.patches:
            out[offset:offset + len(blob)] = blob
    path = tmp_path / "ggml-hostile.bin"
    path.write_bytes(out)
    return path


def _set(layout, name: str, value: int, nth: int = 0) -> Mutant:
    return Mutant(name, patches=[(_field(layout, name, nth).offset, struct.pack("<i", value))])


def _cases(data: bytes, layout) -> dict[str, tuple[Mutant, str]]:
    query = _tensor(data, layout, "decoder.blocks.0.attn.query.weight")
    mlp = _tensor(data, layout, "encoder.blocks.1.mlp.0.weight")
    size = len(data)
    return {
        "width": (_set(layout, "n_audio_state", 385), r"hyper-parameter n_audio_state = 385, expected one of"),
        "widths differ": (_set(layout, "n_text_state", 512),
                          r"hyper-parameter n_text_state = 512, expected 384 \(= n_audio_state\)"),
        "heads": (_set(layout, "n_text_head", 0), r"hyper-parameter n_text_head = 0, expected 6"),
        "layers": (_set(layout, "n_audio_layer", 1 << 20),
                   r"hyper-parameter n_audio_layer = 1048576, expected 1 to 32"),
        "vocab size": (_set(layout, "n_vocab", 2**31 - 1), r"hyper-parameter n_vocab = 2147483647"),
        "ftype": (_set(layout, "ftype", 5), r"hyper-parameter ftype = 5, expected a ggml file type"),
        "mel filters": (_set(layout, "mel n_fft", 1 << 30), r"mel filters \[80, 1073741824\], expected \[80, 201\]"),
        "vocab count": (_set(layout, "vocab count", 2**31 - 1), r"vocabulary of 2147483647 tokens"),
        "token length": (_set(layout, "token 0 length", 2**31 - 1), r"token 0 is 2147483647 bytes long"),
        "shape": (Mutant("ne", patches=[(query[0] + 16, struct.pack("<i", 385))]),
                  r"tensor decoder\.blocks\.0\.attn\.query\.weight: shape \[384, 385\], expected \[384, 384\]"),
        "type": (Mutant("ttype", patches=[(query[0] + 8, struct.pack("<i", 0))]),
                 r"tensor decoder\.blocks\.0\.attn\.query\.weight: type f32, expected f16"),
        "bad type": (Mutant("ttype", patches=[(query[0] + 8, struct.pack("<i", 1000))]),
                     r"tensor decoder\.blocks\.0\.attn\.query\.weight: type ggml type 1000, expected f16"),
        "dims": (Mutant("n_dims", patches=[(query[0], struct.pack("<i", 100))]),
                 r"tensor #\d+ at offset \d+: 100 dimensions \(at most 4\)"),
        "name length": (Mutant("name length", patches=[(query[0] + 4, struct.pack("<i", -1))]),
                        r"tensor #\d+ at offset \d+: name length -1 \(1 to 256 bytes\)"),
        "name": (Mutant("name", patches=[(query[1] - 1, b"X")]),
                 r"unknown tensor 'decoder\.blocks\.0\.attn\.query\.weighX'"),
        "missing": (Mutant("drop", pieces=[(0, mlp[0]), (mlp[2], size)]),
                    r"tensor encoder\.blocks\.1\.mlp\.0\.weight is missing"),
        "twice": (Mutant("repeat", pieces=[(0, mlp[2]), (mlp[0], mlp[2]), (mlp[2], size)]),
                  r"tensor encoder\.blocks\.1\.mlp\.0\.weight appears twice"),
        "truncated data": (Mutant("cut", pieces=[(0, 20_000_000)]), r"truncated: the data of tensor"),
        "truncated header": (Mutant("cut", pieces=[(0, 30)]), r"truncated: the hyper-parameters need"),
        "trailing bytes": (Mutant("tail", pieces=[(0, size), b"\0" * 5]), r"truncated: a tensor header"),
    }


CASES = ["width", "widths differ", "heads", "layers", "vocab size", "ftype", "mel filters", "vocab count",
         "token length", "shape", "type", "bad type", "dims", "name length", "name", "missing", "twice",
         "truncated data", "truncated header", "trailing bytes"]


def test_real_models_pass(tiny_en_path, base_path):
    tiny = validate_model(tiny_en_path)
    assert (tiny.weight_type, tiny.n_tensors, tiny.hparams.n_vocab) == ("f16", 167, 51864)
    base = validate_model(base_path)
    assert (base.weight_type, base.n_tensors, base.hparams.n_text_layer) == ("f16", 245, 6)


def test_quantized_model_passes_and_loads(tiny_en_path, tmp_path):
    from whispercli.models.quantize import quantize_model

    out = quantize_model(tiny_en_path, tmp_path / "ggml-tiny.en-q5_1.bin", "q5_1").path
    assert validate_model(out).weight_type == "q5_1"
    with Model.load(out) as model:
        assert model.type == "tiny"


@pytest.mark.parametrize("case", CASES)
def test_damage_is_named(case, tiny, tmp_path):
    data, layout = tiny
    mutant, message = _cases(data, layout)[case]
    path = _write(tmp_path, data, mutant)
    with pytest.raises(ModelFormatError, match=r"cannot load model '.*ggml-hostile\.bin': " + message):
        Model.load(path)
    assert issubclass(ModelFormatError, ModelError)


def test_cli_exit_3_one_line(tiny, tmp_path, jfk_wav):
    data, layout = tiny
    mutant, _ = _cases(data, layout)["shape"]
    path = _write(tmp_path, data, mutant)
    proc = subprocess.run([sys.executable, "-m", "whispercli", "transcribe", "-m", str(path), str(jfk_wav)],
                          capture_output=True, timeout=120)
    lines = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == ExitStatus.MODEL, lines
    assert lines == [f"whispercli: error: cannot load model {str(path)!r}: tensor decoder.blocks.0.attn.query.weight: "
                     "shape [384, 385], expected [384, 384]"]
    assert proc.stdout == b""


# Files that crashed or exhausted libwhisper before patch 0006 (SIGSEGV, SIGABRT, bad_alloc),
# handed to it directly, without the validator.
LOADER_CASES = ["widths differ", "layers", "vocab size", "mel filters", "vocab count", "token length",
                "dims", "name length", "bad type", "truncated data", "truncated header"]

_LOAD_DIRECTLY = """
import json, sys
from whispercli import _native
from whispercli.errors import ModelError
from whispercli.params import ContextParams
out = {}
for path in sys.argv[1:]:
    try:
        _native.init_context(path, ContextParams(use_gpu=False))
        out[path] = "loaded"
    except ModelError as exc:
        out[path] = "refused: " + str(exc)
print(json.dumps(out))
"""


def test_patched_loader_refuses_without_the_validator(tiny, tmp_path):
    data, layout = tiny
    cases = _cases(data, layout)
    paths = []
    for name in LOADER_CASES:
        sub = tmp_path / name.replace(" ", "-")
        sub.mkdir()
        paths.append(str(_write(sub, data, cases[name][0])))
    proc = subprocess.run([sys.executable, "-c", _LOAD_DIRECTLY, *paths], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    results = json.loads(proc.stdout)
    assert all(r.startswith("refused: cannot load model") for r in results.values()), results


def test_vad_model_passes(vad_path):
    summary = validate_vad_model(vad_path)
    assert (summary.model_type, summary.n_tensors) == ("silero-16k", 15)


@pytest.mark.parametrize(("offset", "value", "message"), [
    (4, 1 << 30, r"VAD model type length 1073741824"),
    (4 + 4 + 10 + 12, 0, r"VAD window 0 and context 64, expected 512 and 64"),
    (4 + 4 + 10 + 20, 2, r"VAD encoder has 2 layers, expected 4"),
    (4 + 4 + 10 + 24, 130, r"VAD encoder layer 0: \(in, out, kernel\) = \(130, 128, 3\)"),
])
def test_vad_damage_is_named(vad_path, tmp_path, offset, value, message):
    data = bytearray(vad_path.read_bytes())
    data[offset:offset + 4] = struct.pack("<i", value)
    bad = tmp_path / "ggml-silero-bad.bin"
    bad.write_bytes(data)
    with pytest.raises(ModelFormatError, match=message):
        validate_vad_model(bad)


def test_vad_model_is_checked_before_transcription(vad_path, tiny_en, tmp_path, jfk_samples):
    data = bytearray(vad_path.read_bytes())
    data[4 + 4 + 10 + 20:4 + 4 + 10 + 24] = struct.pack("<i", 1)  # one encoder layer: the graph indexes four
    bad = tmp_path / "ggml-silero-bad.bin"
    bad.write_bytes(data)
    with pytest.raises(ModelFormatError, match="VAD encoder has 1 layers"):
        tiny_en.transcribe(jfk_samples, vad=True, vad_model_path=str(bad))
