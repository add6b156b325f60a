"""`whispercli transcribe` end to end: real subprocesses, real model, real (and hostile) audio."""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from helpers import JFK_WORDS, default_sigint, one_line, wer, words
from whispercli.cli.exit_codes import ExitStatus

SENTENCE = "Please call Stella and ask her to bring these things with her from the store."


# --------------------------------------------------------------------------- everyday use


def test_one_off_prints_segments_and_nothing_else(cli, jfk_wav):
    proc = cli("transcribe", "-m", "tiny.en", jfk_wav)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == b""  # not a terminal: no progress, no summary
    out = proc.stdout.decode()
    assert out.startswith("\n[00:00:00.000 --> ")
    lines = out.strip("\n").splitlines()
    assert all(line.startswith("[") and "]  " in line for line in lines)
    assert words(" ".join(line.split("]  ", 1)[1] for line in lines)) == JFK_WORDS


def test_translate_command_on_english_only_model_warns(cli, jfk_wav):
    proc = cli("translate", "-m", "tiny.en", "-nt", jfk_wav)
    assert proc.returncode == 0
    assert "model is not multilingual" in one_line(proc.stderr)
    assert words(proc.stdout.decode()) == JFK_WORDS


def test_output_files_named_like_whisper_cli(cli, jfk_wav, tmp_path):
    audio = tmp_path / "jfk.wav"
    shutil.copy(jfk_wav, audio)
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "-osrt", "-oj", audio)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jfk.wav", "jfk.wav.json", "jfk.wav.srt", "jfk.wav.txt"]
    assert words((tmp_path / "jfk.wav.txt").read_text()) == JFK_WORDS

    out_dir = tmp_path / "out"
    out_dir.mkdir()
    proc = cli("transcribe", "-m", "tiny.en", "-F", "vtt,lrc", "-x", "--output-dir", out_dir, audio)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out_dir.iterdir()) == ["jfk.lrc", "jfk.vtt"]


def test_single_format_to_stdout(cli, jfk_wav):
    proc = cli("transcribe", "-m", "tiny.en", "-osrt", "-of", "-", jfk_wav)
    assert proc.returncode == 0
    assert proc.stdout.decode().startswith("1\n00:00:00,000 --> ")
    assert proc.stderr == b""
    proc = cli("transcribe", "-m", "tiny.en", "-osrt", "-otxt", "-o", "-", jfk_wav)
    assert proc.returncode == 0
    assert words(proc.stdout.decode()) == JFK_WORDS  # txt: the first in whisper-cli's order
    assert "only one format can go to stdout; srt not written" in one_line(proc.stderr)


def test_stdin_input_goes_to_stdout(cli, jfk_wav):
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "-", input=jfk_wav.read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert words(proc.stdout.decode()) == JFK_WORDS


def test_response_file(cli, jfk_wav, tmp_path):
    rsp = tmp_path / "args.txt"
    rsp.write_text(f"-m\ntiny.en\n-nt\n{jfk_wav}\n")
    proc = cli("transcribe", f"@{rsp}")
    assert proc.returncode == 0, proc.stderr
    assert words(proc.stdout.decode()) == JFK_WORDS


# --------------------------------------------------------------------------- any format


FORMATS = {
    # name: ffmpeg output arguments
    "speech.flac": [],
    "speech.ogg": ["-c:a", "libvorbis"],
    "speech.mp3": [],
    "speech.aiff": [],
    "speech-s24.wav": ["-c:a", "pcm_s24le"],
    "speech-s32.wav": ["-c:a", "pcm_s32le"],
    "speech-f32.wav": ["-c:a", "pcm_f32le"],
    "speech-u8.wav": ["-c:a", "pcm_u8"],
    "speech-44k-stereo.wav": ["-ar", "44100", "-ac", "2"],
    "speech.m4a": ["-c:a", "aac"],
    "speech.opus": ["-c:a", "libopus"],
    "speech.webm": ["-c:a", "libopus"],
    "speech-video.mp4": ["-f", "lavfi", "-i", "color=c=black:s=64x64:r=5", "-shortest", "-c:v", "libx264",
                         "-c:a", "aac"],
    "speech-video.mkv": ["-f", "lavfi", "-i", "color=c=black:s=64x64:r=5", "-shortest", "-c:a", "libvorbis"],
}


@pytest.fixture(scope="module")
def formats_dir(speak, tmp_path_factory):
    src = speak(SENTENCE)
    d = tmp_path_factory.mktemp("formats")
    for name, extra in FORMATS.items():
        # lavfi video inputs come after the audio input; everything else is output options
        if "-f" in extra:
            cmd = ["ffmpeg", "-v", "error", "-i", str(src), *extra, str(d / name)]
        else:
            cmd = ["ffmpeg", "-v", "error", "-i", str(src), *extra, str(d / name)]
        subprocess.run(cmd, check=True)
    return d


def test_every_format_in_one_run(cli, formats_dir, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "-x", "--output-dir", out, formats_dir)
    assert proc.returncode == 0, proc.stderr
    for name in FORMATS:
        text = (out / (Path(name).stem + ".txt")).read_text()
        assert wer(SENTENCE, text) <= 0.25, (name, text)


def test_ffmpeg_format_from_stdin(cli, formats_dir):
    proc = cli("transcribe", "-m", "tiny.en", "-nt", "-", "-of", "x", input=(formats_dir / "speech.m4a").read_bytes())
    assert proc.returncode == 0, proc.stderr
    assert wer(SENTENCE, proc.stdout.decode()) <= 0.25


# --------------------------------------------------------------------------- hostile input


@pytest.fixture(scope="module")
def hostile(speak, tmp_path_factory):
    d = tmp_path_factory.mktemp("hostile")
    speech = speak(SENTENCE)
    data = speech.read_bytes()
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("this is a text file, not audio\n")
    (d / "truncated.wav").write_bytes(data[:30])
    (d / "corrupt-header.wav").write_bytes(b"RIFX" + b"\xff" * 40 + data[44:])
    sf.write(d / "short.wav", np.zeros(800, dtype=np.int16), 16000)  # 0.05 s
    sf.write(d / "silence.wav", np.zeros(160000, dtype=np.int16), 16000)
    rng = np.random.default_rng(0)
    sf.write(d / "noise.wav", (rng.standard_normal(160000) * 0.3).astype(np.float32), 16000, subtype="FLOAT")
    speech_f, rate = sf.read(speech, dtype="float32")
    poisoned = speech_f.copy()
    poisoned[1000:1100] = np.nan
    poisoned[5000] = np.inf
    sf.write(d / "nan-inf.wav", poisoned, rate, subtype="FLOAT")
    header = bytearray(data[:44])
    header[4:8] = struct.pack("<I", 0xFFFFFFF0)
    header[40:44] = struct.pack("<I", 0xFFFFFF00)
    (d / "claims-4GB.wav").write_bytes(bytes(header) + data[44:])
    (d / "six-channel.wav").parent.mkdir(exist_ok=True)
    sf.write(d / "six-channel.wav", np.tile(speech_f[:, None], (1, 6)), rate)
    shutil.copy(speech, d / "ünï cødé — name with spaces.wav")
    (d / "x.wav").mkdir()
    return d


@pytest.mark.parametrize(
    "name, status, message",
    [
        ("empty.wav", ExitStatus.AUDIO, "is empty"),
        ("text.wav", ExitStatus.AUDIO, "cannot decode audio"),
        ("truncated.wav", ExitStatus.AUDIO, "cannot decode audio"),
        ("corrupt-header.wav", ExitStatus.AUDIO, "cannot decode audio"),
        ("x.wav", ExitStatus.AUDIO, "no audio files in directory"),
        ("missing.wav", ExitStatus.AUDIO, "input file not found"),
    ],
)
def test_bad_input_is_one_line_and_a_status(cli, hostile, tmp_path, name, status, message):
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "--output-dir", tmp_path, hostile / name)
    assert proc.returncode == status
    assert message in one_line(proc.stderr)
    assert list(tmp_path.iterdir()) == []
    assert proc.stdout == b""


@pytest.mark.parametrize(
    "name, expect_words",
    [
        ("short.wav", False),
        ("silence.wav", False),
        ("noise.wav", False),
        ("nan-inf.wav", True),
        ("claims-4GB.wav", True),
        ("six-channel.wav", True),
        ("ünï cødé — name with spaces.wav", True),
    ],
)
def test_odd_but_valid_input_is_transcribed(cli, hostile, tmp_path, name, expect_words):
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "--output-dir", tmp_path, hostile / name)
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / (name + ".txt")
    assert out.is_file()
    if expect_words:
        assert wer(SENTENCE, out.read_text()) <= 0.25


def test_one_bad_file_does_not_lose_the_others(cli, hostile, jfk_wav, tmp_path):
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "--output-dir", tmp_path,
               jfk_wav, hostile / "text.wav", hostile / "ünï cødé — name with spaces.wav")
    assert proc.returncode == ExitStatus.PARTIAL
    assert "text.wav" in one_line(proc.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jfk.wav.txt", "ünï cødé — name with spaces.wav.txt"]


def test_unwritable_output_directory(cli, jfk_wav, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    if os.geteuid() == 0:
        locked = Path("/sys")  # root writes anywhere a mode allows; sysfs refuses new files to everyone
    try:
        start = time.perf_counter()
        proc = cli("transcribe", "-m", "tiny.en", "-otxt", "--output-dir", locked, jfk_wav)
    finally:
        (tmp_path / "locked").chmod(0o700)
    assert proc.returncode == ExitStatus.OUTPUT
    assert "output directory is not writable" in one_line(proc.stderr)
    assert proc.stdout == b""  # refused before transcribing, not after


def test_missing_output_directory(cli, jfk_wav, tmp_path):
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "-of", tmp_path / "nope" / "out", jfk_wav)
    assert proc.returncode == ExitStatus.OUTPUT
    assert "does not exist" in one_line(proc.stderr)


def test_output_dir_is_created_with_its_parents(cli, jfk_wav, tmp_path):
    out = tmp_path / "a" / "b" / "subs"
    proc = cli("transcribe", "-m", "tiny.en", "-np", "-otxt", "-x", "--output-dir", out, jfk_wav)
    assert proc.returncode == ExitStatus.OK, proc.stderr
    assert words((out / "jfk.txt").read_text()) == JFK_WORDS


def test_an_error_for_every_input_is_reported_once(cli, jfk_wav, hostile, tmp_path):
    inputs = [jfk_wav, hostile / "silence.wav", hostile / "short.wav"]
    unwritable = "/sys/whispercli-test" if os.geteuid() == 0 else "/proc/whispercli-test"
    proc = cli("transcribe", "-m", "tiny.en", "-otxt", "--output-dir", unwritable, *inputs)
    assert proc.returncode == ExitStatus.OUTPUT
    assert "cannot create output directory" in one_line(proc.stderr)  # once, not once per input
    assert proc.stdout == b""


def test_skip_existing_keeps_finished_outputs(cli, jfk_wav, tmp_path):
    first = cli("transcribe", "-m", "tiny.en", "-np", "-otxt", "-osrt", "-x", "--output-dir", tmp_path, jfk_wav)
    assert first.returncode == ExitStatus.OK
    (tmp_path / "jfk.txt").write_text("kept\n")
    skipped = cli("transcribe", "-m", "tiny.en", "-np", "-otxt", "-osrt", "-x", "--output-dir", tmp_path,
                  "--skip-existing", jfk_wav)
    assert skipped.returncode == ExitStatus.OK
    assert "skipping" in one_line(skipped.stderr) and skipped.stdout == b""
    assert (tmp_path / "jfk.txt").read_text() == "kept\n"
    # one selected output missing: the input is done again
    partial = cli("transcribe", "-m", "tiny.en", "-np", "-otxt", "-ovtt", "-x", "--output-dir", tmp_path,
                  "--skip-existing", jfk_wav)
    assert partial.returncode == ExitStatus.OK and partial.stderr == b""
    assert words((tmp_path / "jfk.txt").read_text()) == JFK_WORDS
    assert (tmp_path / "jfk.vtt").read_text().startswith("WEBVTT")


#: Only these words (and a final period) may be decoded: jfk.wav then loses "and so my fellow Americans".
JFK_GRAMMAR = 'root ::= (" ask" | " not" | " what" | " your" | " country" | " can" | " do" | " for" | " you")+ "."'


def test_grammar_constrains_the_output(cli, jfk_wav, tmp_path):
    grammar = tmp_path / "jfk.gbnf"
    grammar.write_text(JFK_GRAMMAR + "\n")
    free = cli("transcribe", "-m", "tiny.en", "-np", "-nt", jfk_wav)
    constrained = cli("transcribe", "-m", "tiny.en", "-np", "-nt", "--grammar", grammar, "--grammar-rule", "root",
                      jfk_wav)
    assert free.returncode == constrained.returncode == ExitStatus.OK
    allowed = {"ask", "not", "what", "your", "country", "can", "do", "for", "you"}
    assert "americans" in words(free.stdout.decode()).split()
    got = words(constrained.stdout.decode()).split()
    assert got and set(got) <= allowed, got


def test_processors_split_the_audio_and_keep_the_text(cli, speak, tmp_path):
    text = " ".join([SENTENCE] * 4)
    audio = speak(text)
    one = cli("transcribe", "-m", "tiny.en", "-np", "-osrt", "-of", tmp_path / "p1", audio)
    two = cli("transcribe", "-m", "tiny.en", "-np", "-osrt", "-p", "2", "-of", tmp_path / "p2", audio)
    assert one.returncode == two.returncode == ExitStatus.OK
    assert "-p 2: the audio is split into chunks" in one_line(two.stderr)
    srt = (tmp_path / "p2.srt").read_text()
    starts = [line.split(" --> ")[0] for line in srt.splitlines() if " --> " in line]
    assert len(starts) >= 2 and starts == sorted(starts)  # the second chunk's times are shifted into place
    assert wer(text, _srt_text(srt)) < 0.3
    assert wer(_srt_text((tmp_path / "p1.srt").read_text()), _srt_text(srt)) < 0.3


def _srt_text(srt: str) -> str:
    return " ".join(cue.split("\n", 2)[2] for cue in srt.strip().split("\n\n"))


def test_tinydiarize_flag_reaches_the_decoder_and_the_outputs(cli, jfk_wav, tmp_path):
    # tiny.en is no -tdrz model, so no turn is found, but the flag must parse and every writer cope
    proc = cli("transcribe", "-m", "tiny.en", "-tdrz", "-np", "-oj", "-otxt", "-of", tmp_path / "t", jfk_wav)
    assert proc.returncode == ExitStatus.OK, proc.stderr
    import json

    segments = json.loads((tmp_path / "t.json").read_text())["transcription"]
    assert segments and all(seg["speaker_turn_next"] is False for seg in segments)
    assert "[SPEAKER_TURN]" not in proc.stdout.decode()
    assert words((tmp_path / "t.txt").read_text()) == JFK_WORDS


# --------------------------------------------------------------------------- usage and model errors


@pytest.mark.parametrize(
    "args, status, message",
    [
        (["--bogus-option"], ExitStatus.USAGE, "No such option"),
        (["-t", "many"], ExitStatus.USAGE, "Invalid value for '--threads' / '-t'"),
        (["-l", "klingon"], ExitStatus.USAGE, "unknown language 'klingon'"),
        (["-di", "-tdrz"], ExitStatus.USAGE, "cannot use both --diarize and --tinydiarize"),
        (["-dtw", "huge"], ExitStatus.USAGE, "unknown DTW preset 'huge'"),
        (["-F", "docx"], ExitStatus.USAGE, "unknown output format 'docx'"),
        (["--vad"], ExitStatus.USAGE, "--vad needs a VAD model"),
        (["-m", "nonexistent-model"], ExitStatus.MODEL, "whispercli download-model"),
        (["-m", "tiny.en", "--grammar", "root ::= (", "--grammar-rule", "root"], ExitStatus.USAGE,
         "failed to parse grammar"),
    ],
)
def test_usage_errors(cli, jfk_wav, args, status, message):
    full = ["transcribe", *args, jfk_wav]
    if "-m" not in args:
        full[1:1] = ["-m", "tiny.en"]
    proc = cli(*full)
    assert proc.returncode == status, proc.stderr
    assert message in one_line(proc.stderr)
    assert proc.stdout == b""


def test_corrupt_model(cli, jfk_wav, tmp_path):
    bad = tmp_path / "ggml-bad.bin"
    bad.write_bytes(b"lmgg" + b"\0" * 100)
    proc = cli("transcribe", "-m", bad, jfk_wav)
    assert proc.returncode == ExitStatus.MODEL
    assert "cannot load model" in one_line(proc.stderr)


def test_no_inputs(cli):
    proc = cli("transcribe", "-m", "tiny.en", "-otxt")
    assert proc.returncode == ExitStatus.USAGE
    assert "no input files" in one_line(proc.stderr)


# --------------------------------------------------------------------------- interruption


def test_ctrl_c_keeps_finished_files_and_exits_130(models_dir, jfk_wav, speak, tmp_path):
    long_text = " ".join(f"Sentence {n} of a long recording that we are going to interrupt." for n in range(40))
    long_audio = speak(long_text)
    env = dict(os.environ, WHISPERCLI_MODELS_DIR=str(models_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "whispercli", "transcribe", "-m", "tiny.en", "-otxt", "-x", "--output-dir",
         str(tmp_path), str(jfk_wav), str(long_audio)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=default_sigint,
    )
    deadline = time.time() + 120
    while not (tmp_path / "jfk.txt").exists() and time.time() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "jfk.txt").exists()
    time.sleep(0.5)
    sent = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert time.perf_counter() - sent < 5.0  # abort (~0.5 s idle) + interpreter teardown; generous for CI noise
    assert proc.returncode == ExitStatus.INTERRUPTED
    assert "interrupted" in one_line(stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jfk.txt"]  # no partial or temp file


# --------------------------------------------------------------------------- --jobs


def test_jobs_give_the_same_files_as_sequential(cli, jfk_wav, speak, tmp_path):
    inputs = [jfk_wav, speak(SENTENCE), speak("My name is John and I live in London."),
              speak("The quick brown fox jumps over the lazy dog.")]
    seq, par = tmp_path / "seq", tmp_path / "par"
    seq.mkdir()
    par.mkdir()
    one = cli("transcribe", "-m", "tiny.en", "-t", "1", "-osrt", "-oj", "-x", "--output-dir", seq, *inputs)
    two = cli("transcribe", "-m", "tiny.en", "-t", "2", "-j", "2", "-osrt", "-oj", "-x", "--output-dir", par, *inputs)
    assert one.returncode == two.returncode == 0, two.stderr
    names = sorted(p.name for p in seq.iterdir())
    assert names == sorted(p.name for p in par.iterdir()) and len(names) == 8
    for name in names:
        assert (seq / name).read_bytes() == (par / name).read_bytes(), name
    # stdout: each file's lines as one block, never interleaved
    blocks = two.stdout.decode().split("\n\n")
    assert len([b for b in blocks if b.strip()]) == 4
    assert sorted(blocks[i].strip() for i in range(len(blocks)) if blocks[i].strip()) == \
        sorted(b.strip() for b in one.stdout.decode().split("\n\n") if b.strip())


def test_jobs_refuse_stdout_output(cli, jfk_wav):
    proc = cli("transcribe", "-m", "tiny.en", "-j", "2", "-otxt", "-of", "-", jfk_wav)
    assert proc.returncode == ExitStatus.USAGE
    assert "--jobs cannot be combined" in one_line(proc.stderr)
