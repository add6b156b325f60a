"""`whispercli detect-lang` with the multilingual base model on espeak-ng speech."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from whispercli.cli.exit_codes import ExitStatus

SAMPLES = {
    "de": "Guten Morgen. Heute ist das Wetter schön und wir gehen zusammen in den Park spazieren. "
          "Danach essen wir im Restaurant.",
    "es": "Buenos días. Hoy hace buen tiempo y vamos a caminar juntos por el parque de la ciudad. "
          "Después comeremos en un restaurante.",
    "fr": "Bonjour à tous. Aujourd'hui il fait beau et nous allons nous promener dans le parc. "
          "Nous mangerons ensemble au restaurant ce soir.",
    "it": "Buongiorno a tutti. Oggi il tempo è bello e andiamo a fare una passeggiata nel parco. "
          "Stasera mangiamo insieme al ristorante.",
}


@pytest.fixture(scope="module")
def run(models_dir, base_path):
    env = dict(os.environ, WHISPERCLI_MODELS_DIR=str(models_dir))

    def _run(*args, input=None):
        return subprocess.run([sys.executable, "-m", "whispercli", "detect-lang", *map(str, args)],
                              capture_output=True, env=env, input=input, timeout=300)

    return _run


@pytest.fixture(scope="module")
def speech(speak):
    return {code: speak(text, code) for code, text in SAMPLES.items()}


def test_plain_lines_per_file(run, speech):
    files = [speech[c] for c in sorted(speech)]
    proc = run("-m", "base", *files)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""
    lines = proc.stdout.decode().splitlines()
    assert [line.split("\t")[:2] for line in lines] == [[str(f), c] for f, c in zip(files, sorted(speech))]
    assert all(0.3 < float(line.split("\t")[2]) <= 1.0 for line in lines)


def test_top_n_and_stdin(run, speech):
    proc = run("-m", "base", "--top", "3", "-", input=speech["es"].read_bytes())
    assert proc.returncode == 0
    lines = [line.split("\t") for line in proc.stdout.decode().splitlines()]
    assert len(lines) == 3 and lines[0][:2] == ["-", "es"]
    probs = [float(line[2]) for line in lines]
    assert probs == sorted(probs, reverse=True)


def test_json_has_every_language(run, speech):
    proc = run("-m", "base", "--json", speech["fr"], speech["it"])
    assert proc.returncode == 0
    docs = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [d["language"] for d in docs] == ["fr", "it"]
    assert len(docs[0]["probabilities"]) == 100
    assert abs(sum(docs[0]["probabilities"].values()) - 1.0) < 1e-3


def test_offset_picks_the_window(run, speak, tmp_path):
    # 30 s of English, then German: the window at 30 s is German
    en, _ = sf.read(speak(" ".join(["The weather is nice today and we are going for a walk."] * 6)), dtype="float32")
    de, rate = sf.read(speak(SAMPLES["de"], "de"), dtype="float32")
    pad = np.zeros(max(0, 30 * rate - len(en)), dtype=np.float32)
    mixed = tmp_path / "mixed.wav"
    sf.write(mixed, np.concatenate([en[: 30 * rate], pad, de]), rate)
    first = run("-m", "base", mixed).stdout.decode().split("\t")[1]
    later = run("-m", "base", "-ot", "30000", mixed).stdout.decode().split("\t")[1]
    assert (first, later) == ("en", "de")


def test_silence_and_noise_answer_with_low_confidence(run, tmp_path):
    sf.write(tmp_path / "silence.wav", np.zeros(16000 * 3, dtype=np.int16), 16000)
    rng = np.random.default_rng(1)
    sf.write(tmp_path / "noise.wav", (rng.standard_normal(16000 * 3) * 0.2).astype(np.float32), 16000)
    proc = run("-m", "base", tmp_path / "silence.wav", tmp_path / "noise.wav")
    assert proc.returncode == 0, proc.stderr
    probs = [float(line.split("\t")[2]) for line in proc.stdout.decode().splitlines()]
    assert len(probs) == 2 and all(p < 0.9 for p in probs)


def test_english_only_model_is_refused(run, speech, tiny_en_path):
    proc = run("-m", "tiny.en", speech["de"])
    assert proc.returncode == ExitStatus.MODEL
    assert proc.stderr.decode().strip() == (
        "whispercli: error: language detection needs a multilingual model; ggml-tiny.en.bin is English-only"
    )


def test_bad_input_among_good(run, speech, tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("nope")
    proc = run("-m", "base", speech["de"], bad)
    assert proc.returncode == ExitStatus.PARTIAL
    assert proc.stdout.decode().split("\t")[1] == "de"
    assert len(proc.stderr.decode().splitlines()) == 1


def test_offset_outside_audio(run, speech):
    proc = run("-m", "base", "-ot", "600000", speech["de"])
    assert proc.returncode == ExitStatus.USAGE
    assert "outside the audio" in proc.stderr.decode()
