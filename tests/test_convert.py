"""Tests for whispercli.convert against real CTranslate2 Whisper models (no mocks).

The expected SHA1s and sizes are the official whisper.cpp ggml files' (the registry's
table, from models/README.md), so a pass means the converter reproduces them byte for byte.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from helpers import sha1_of
from whispercli.convert import KNOWN_SHA1, ConversionResult, convert_ct2_to_ggml
from whispercli.errors import ConversionError
from whispercli.models.registry import MODELS

TINY_EN_SHA1 = MODELS["tiny.en"].sha1
TINY_EN_SIZE = MODELS["tiny.en"].size_bytes
BASE_SHA1 = MODELS["base"].sha1


# -- helpers ----------------------------------------------------------------------------


def _assert_nothing_written(out_dir: Path) -> None:
    # Neither the output nor a leftover temp file may exist after a failure.
    assert list(out_dir.iterdir()) == []


def _model_dir(tmp_path: Path, src: Path, *, model_bin: bool = True, vocab: bool = True) -> Path:
    """A copy of ``src`` made of symlinks, optionally without model.bin or the vocabulary."""
    d = tmp_path / "model"
    d.mkdir()
    for name in ("config.json", "vocabulary.txt", "tokenizer.json", "model.bin"):
        if name == "model.bin" and not model_bin:
            continue
        if name in ("vocabulary.txt", "tokenizer.json") and not vocab:
            continue
        if (src / name).exists():
            (d / name).symlink_to(src / name)
    return d


def _ct2_string(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack("<H", len(raw) + 1) + raw + b"\0"


# Type ids of CTranslate2's DataType enum (include/ctranslate2/types.h).
_CT2_TYPE_IDS = {np.dtype("float32"): 0, np.dtype("int8"): 1, np.dtype("int16"): 2, np.dtype("float16"): 4}


def _write_ct2(path: Path, variables: dict[str, np.ndarray], *, spec: str = "WhisperSpec",
               aliases: dict[str, str] | None = None) -> None:
    """Serialise like CTranslate2's ModelSpec._serialize (binary version 6)."""
    out = [struct.pack("<I", 6), _ct2_string(spec), struct.pack("<I", 3), struct.pack("<I", len(variables))]
    for name, value in sorted(variables.items()):
        out.append(_ct2_string(name))
        out.append(struct.pack("<B", value.ndim))
        out.append(struct.pack(f"<{value.ndim}I", *value.shape))
        out.append(struct.pack("<B", _CT2_TYPE_IDS[value.dtype]))
        out.append(struct.pack("<I", value.nbytes))
        out.append(value.tobytes())
    aliases = aliases or {}
    out.append(struct.pack("<I", len(aliases)))
    for alias, target in aliases.items():
        out.append(_ct2_string(alias) + _ct2_string(target))
    path.write_bytes(b"".join(out))


def _tiny_whisper_variables(weight_dtype: str) -> dict[str, np.ndarray]:
    """A few WhisperSpec variables; the weight dtype decides what the converter must say."""
    w = np.ones((8, 4), dtype=np.float32)
    weights = {
        "encoder/conv1/weight": w.reshape(8, 2, 2),
        "decoder/embeddings/weight": w,
        "encoder/layer_0/self_attention/linear_0/weight": w,
    }
    out: dict[str, np.ndarray] = {
        "decoder/num_heads": np.array(1, dtype=np.int16),
        "decoder/activation": np.array(1, dtype=np.int8),  # scalars are int8 in every model
        "encoder/conv1/bias": np.zeros(8, dtype=np.float16),
    }
    for name, value in weights.items():
        if weight_dtype == "int8":
            out[name] = value.astype(np.int8)
            out[name + "_scale"] = np.ones(value.shape[0], dtype=np.float32)
        else:
            out[name] = value.astype(weight_dtype)
    return out


# -- conversions that must reproduce the official files ----------------------------------


def test_tiny_en_is_bit_identical(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "ggml-tiny.en.bin"

    result = convert_ct2_to_ggml(ct2_models["tiny.en"], out)

    assert isinstance(result, ConversionResult)
    assert result.path == out
    assert result.sha1 == TINY_EN_SHA1
    assert result.size_bytes == TINY_EN_SIZE
    assert result.official_name == "tiny.en"
    assert out.stat().st_size == TINY_EN_SIZE
    assert sha1_of(out) == TINY_EN_SHA1  # the returned hash is the file's, not a recomputation
    assert list(out_dir.iterdir()) == [out]  # no temp file left behind


def test_base_from_parts_in_two_directories(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "ggml-base.bin"

    result = convert_ct2_to_ggml(ct2_models["base.part1"], out, extra_parts=[ct2_models["base.part2"]])

    assert result.sha1 == BASE_SHA1
    assert result.official_name == "base"
    assert sha1_of(out) == BASE_SHA1


def test_base_from_parts_in_one_directory(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["base.part1"], model_bin=False)
    # Linked in reverse so that directory order cannot stand in for numeric order.
    (src / "model.bin.part2").symlink_to(ct2_models["base.part2"] / "model.bin.part2")
    (src / "model.bin.part1").symlink_to(ct2_models["base.part1"] / "model.bin.part1")

    result = convert_ct2_to_ggml(src, tmp_path / "ggml-base.bin")

    assert result.sha1 == BASE_SHA1


def test_missing_second_part(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(ct2_models["base.part1"], out_dir / "ggml-base.bin")
    assert str(ct2_models["base.part1"]) in str(exc.value)
    assert "truncated" in str(exc.value)
    _assert_nothing_written(out_dir)


def test_known_sha1_lists_every_official_model() -> None:
    assert KNOWN_SHA1[TINY_EN_SHA1] == "tiny.en"
    assert KNOWN_SHA1[BASE_SHA1] == "base"
    assert len(KNOWN_SHA1) == 16
    assert all(len(k) == 40 and int(k, 16) >= 0 for k in KNOWN_SHA1)


# -- bad input ----------------------------------------------------------------------------


@pytest.mark.parametrize("keep", ["header", "half", "all_but_aliases"])
def test_truncated_model(ct2_models: dict[str, Path], tmp_path: Path, keep: str) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    model_bin = src / "model.bin"
    shutil.copyfile(ct2_models["tiny.en"] / "model.bin", model_bin)
    full = model_bin.stat().st_size
    os.truncate(model_bin, {"header": 1000, "half": full // 2, "all_but_aliases": full - 10}[keep])
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, out_dir / "ggml-tiny.en.bin")

    assert "truncated" in str(exc.value)
    assert str(model_bin) in str(exc.value)
    _assert_nothing_written(out_dir)


def test_failure_leaves_existing_output_untouched(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    with open(ct2_models["tiny.en"] / "model.bin", "rb") as fh:
        (src / "model.bin").write_bytes(fh.read(5_000_000))
    out = tmp_path / "ggml-tiny.en.bin"
    out.write_bytes(b"previous model")

    with pytest.raises(ConversionError):
        convert_ct2_to_ggml(src, out)

    assert out.read_bytes() == b"previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ggml-tiny.en.bin", "model"]


def test_not_a_ctranslate2_file(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    (src / "model.bin").write_bytes(np.random.default_rng(0).bytes(1 << 16))
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, out_dir / "x.bin")

    assert "not a CTranslate2 model" in str(exc.value)
    assert str(src / "model.bin") in str(exc.value)
    _assert_nothing_written(out_dir)


def test_ggml_file_is_not_a_ctranslate2_file(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    # The likeliest mix-up: pointing the converter at an already converted model.
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    hparams = (51864, 1500, 384, 6, 4, 448, 384, 6, 4, 80, 1)
    (src / "model.bin").write_bytes(struct.pack("<12i", 0x67676D6C, *hparams))

    with pytest.raises(ConversionError, match="not a CTranslate2 model"):
        convert_ct2_to_ggml(src, tmp_path / "x.bin")
    assert not (tmp_path / "x.bin").exists()


def test_missing_vocabulary(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], vocab=False)
    assert (src / "model.bin").exists() and not (src / "vocabulary.txt").exists()
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, out_dir / "ggml-tiny.en.bin")

    assert "missing vocabulary" in str(exc.value)
    assert str(src) in str(exc.value)
    _assert_nothing_written(out_dir)


def test_vocabulary_from_tokenizer_json_only(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"])
    (src / "vocabulary.txt").unlink()

    result = convert_ct2_to_ggml(src, tmp_path / "ggml-tiny.en.bin")

    assert result.sha1 == TINY_EN_SHA1


def test_no_model_bin(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, tmp_path / "x.bin")
    assert "no model.bin" in str(exc.value) and str(src) in str(exc.value)
    assert not (tmp_path / "x.bin").exists()


def test_source_is_not_a_directory(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    model_bin = ct2_models["tiny.en"] / "model.bin"
    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(model_bin, tmp_path / "x.bin")
    assert "not a directory" in str(exc.value) and str(model_bin) in str(exc.value)


def test_int8_quantized_model_is_rejected(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    _write_ct2(src / "model.bin", _tiny_whisper_variables("int8"))
    out_dir = tmp_path / "out"
    out_dir.mkdir()

    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, out_dir / "x.bin")

    message = str(exc.value)
    assert "quantized weights (int8) are not supported" in message
    assert "float16/float32" in message
    assert str(src / "model.bin") in message
    _assert_nothing_written(out_dir)


def test_crafted_float16_model_gets_past_the_header(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    # Same serializer, float16 weights: the file must parse and fail only for being
    # incomplete, which shows the int8 test above exercises the dtype check itself.
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    _write_ct2(src / "model.bin", _tiny_whisper_variables("float16"),
               aliases={"decoder/projection/weight": "decoder/embeddings/weight"})

    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, tmp_path / "x.bin")

    message = str(exc.value)
    assert "not a Whisper model" in message and "is missing" in message
    assert "quantized" not in message and "CTranslate2 model" not in message


def test_other_architecture_is_rejected(ct2_models: dict[str, Path], tmp_path: Path) -> None:
    src = _model_dir(tmp_path, ct2_models["tiny.en"], model_bin=False)
    _write_ct2(src / "model.bin", _tiny_whisper_variables("float16"), spec="TransformerSpec")

    with pytest.raises(ConversionError) as exc:
        convert_ct2_to_ggml(src, tmp_path / "x.bin")

    assert "unsupported model architecture 'TransformerSpec'" in str(exc.value)
    assert not (tmp_path / "x.bin").exists()
