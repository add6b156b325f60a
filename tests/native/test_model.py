"""Loading models: success, and every way a model file can be wrong."""

from __future__ import annotations

import pytest

from whispercli import Model, ModelError, ModelNotFoundError


def test_load_reports_model_info(tiny_en):
    assert tiny_en.type == "tiny"
    assert tiny_en.is_multilingual is False
    assert tiny_en.info["vocab"] == 51864
    assert tiny_en.info["audio"] == {"ctx": 1500, "state": 384, "head": 6, "layer": 4}


def test_missing_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="model file not found: .*nope.bin"):
        Model.load(tmp_path / "nope.bin")


def test_directory_is_not_a_model(tmp_path):
    with pytest.raises(ModelError, match="is a directory"):
        Model.load(tmp_path)


def test_text_file_is_not_a_model(tmp_path):
    bogus = tmp_path / "model.bin"
    bogus.write_text("this is not a model\n")
    with pytest.raises(ModelError, match="bad magic"):
        Model.load(bogus)


def test_truncated_model(tmp_path, tiny_en_path):
    truncated = tmp_path / "ggml-truncated.bin"
    with open(tiny_en_path, "rb") as src:
        truncated.write_bytes(src.read(20_000_000))
    with pytest.raises(ModelError, match="cannot load model .*ggml-truncated.bin"):
        Model.load(truncated)


def test_header_only_model(tmp_path, tiny_en_path):
    cut = tmp_path / "ggml-header.bin"
    with open(tiny_en_path, "rb") as src:
        cut.write_bytes(src.read(64))
    with pytest.raises(ModelError, match="cannot load model"):
        Model.load(cut)


def test_close_is_idempotent_and_closed_model_refuses_work(tiny_en_path, jfk_samples):
    with Model.load(tiny_en_path) as model:
        pass
    model.close()
    model.close()
    assert "closed" in repr(model)
    with pytest.raises(ModelError, match="is closed"):
        model.transcribe(jfk_samples)
