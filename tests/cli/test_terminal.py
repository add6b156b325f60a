"""What a person sees in a real terminal (tmux): the transcript scrolls above one live bar.

Both streams on one terminal is the everyday case: stdout's segment lines and stderr's
progress bars must not overwrite or split each other, and the scrollback must hold each
transcript line whole.  With stdout redirected, the file gets the transcript alone.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from helpers import words

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed (./dev installs it)")]

TEXT = " ".join(f"This is sentence number {n} of a recording that keeps going for a while." for n in range(1, 25))


def _run_in_tmux(command: str, tmp_path, timeout_s: float = 300.0) -> str:
    """Run ``command`` in a detached 120x30 tmux pane; return the pane's scrollback and screen."""
    session = f"whispercli-test-{os.getpid()}"
    done = tmp_path / "done"
    socket = str(tmp_path / "tmux.sock")
    tmux = ["tmux", "-S", socket]
    subprocess.run([*tmux, "new-session", "-d", "-s", session, "-x", "120", "-y", "30",
                    f"{command}; echo $? > {shlex.quote(str(done))}; sleep 600"], check=True)
    try:
        deadline = time.monotonic() + timeout_s
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert done.exists(), "the command did not finish in the terminal"
        assert done.read_text().strip() == "0"
        time.sleep(0.3)
        return subprocess.run([*tmux, "capture-pane", "-p", "-J", "-S", "-", "-t", session],
                              capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)


@pytest.fixture(scope="module")
def long_wav(speak):
    return speak(TEXT)


def _cli(models_dir) -> str:
    env = f"WHISPERCLI_MODELS_DIR={shlex.quote(str(models_dir))} TERM=xterm-256color"
    return f"env {env} {shlex.quote(sys.executable)} -m whispercli transcribe -m tiny.en -t 2"


def test_transcript_scrolls_cleanly_above_the_bar(models_dir, tiny_en_path, long_wav, tmp_path):
    screen = _run_in_tmux(f"{_cli(models_dir)} {shlex.quote(str(long_wav))}", tmp_path)
    lines = [line for line in screen.splitlines() if line.strip()]
    transcript = [line for line in lines if "-->" in line]
    assert len(transcript) >= 5, screen
    for line in transcript:
        # each segment line whole, at the start of its line, with no bar glued to it
        assert line.startswith("[00:"), line
        assert "audio-s/s" not in line and "eta" not in line, line
    bars = [line for line in lines if "audio-s/s" in line]
    assert len(bars) == 1, bars  # the finished bar stays, once; no stale copies in the scrollback
    assert "real-time factor" in lines[-1]
    spoken = words(" ".join(line.split("]", 1)[1] for line in transcript))
    assert "sentence number twenty" in spoken  # the end of the recording is on screen too


def test_redirected_stdout_gets_only_the_transcript(models_dir, tiny_en_path, long_wav, tmp_path):
    out = tmp_path / "out.txt"
    screen = _run_in_tmux(f"{_cli(models_dir)} {shlex.quote(str(long_wav))} > {shlex.quote(str(out))}", tmp_path)
    text = out.read_text()
    assert "audio-s/s" not in text and "\x1b[" not in text  # no bar, no terminal control bytes
    assert text.startswith("\n[00:00:00.000 --> ")
    assert all(line.startswith("[") for line in text.splitlines()[1:])
    assert "-->" not in screen  # the terminal shows the bar and the summary, not the transcript
    assert "real-time factor" in screen
