"""A real ``whispercli serve`` on 127.0.0.1 (a free port), real model (tiny.en), real audio, real clients.

``start_server(*flags)`` starts one and waits for ``/health``; every server started is
stopped (SIGTERM) at the end of the module.  ``cli_outputs(*flags)`` is what
``whispercli transcribe`` writes for jfk.wav with the same options: the bytes the
server must answer with.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from serverkit import THREADS, Server, free_port


@pytest.fixture(scope="module")
def start_server(tiny_en_path, tmp_path_factory):
    started: list[Server] = []

    def start(*flags: str, model: str | None = None, env: dict | None = None) -> Server:
        port = free_port()
        log = tmp_path_factory.mktemp("serve") / "stderr.log"
        with open(log, "wb") as fp:
            proc = subprocess.Popen(
                [sys.executable, "-m", "whispercli", "serve", "-m", model or str(tiny_en_path), "--port", str(port),
                 "-t", THREADS, *flags],
                stdout=subprocess.DEVNULL, stderr=fp, env={**os.environ, **(env or {})},
            )
        server = Server(f"http://127.0.0.1:{port}", proc, log)
        started.append(server)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            try:
                prefix = next((flags[i + 1] for i, f in enumerate(flags) if f == "--request-path"), "")
                if server.get(prefix + "/health")[0] == 200:
                    return server
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"server did not start: {log.read_text()}")

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(start_server) -> Server:
    """The everyday server: two workers."""
    return start_server("--workers", "2")


@pytest.fixture(scope="session")
def cli_outputs(tiny_en_path, jfk_wav, tmp_path_factory):
    """``cli_outputs(*flags) -> {"txt": bytes, "srt": ..., "vtt": ...}`` from ``whispercli transcribe``."""
    cache: dict[tuple, dict] = {}

    def run(*flags: str) -> dict[str, bytes]:
        if flags not in cache:
            out = tmp_path_factory.mktemp("cli") / "jfk"
            proc = subprocess.run(
                [sys.executable, "-m", "whispercli", "transcribe", "-m", str(tiny_en_path), "-t", THREADS,
                 "-np", "-otxt", "-osrt", "-ovtt", "-of", str(out), *flags, str(jfk_wav)],
                capture_output=True)
            assert proc.returncode == 0, proc.stderr.decode()
            cache[flags] = {ext: out.with_suffix(f".{ext}").read_bytes() for ext in ("txt", "srt", "vtt")}
        return cache[flags]

    return run


@pytest.fixture(scope="session")
def long_wav(jfk_samples, tmp_path_factory) -> Path:
    """jfk.wav six times over (66 s): a request that keeps a worker busy for a while."""
    import numpy as np
    import soundfile as sf

    path = tmp_path_factory.mktemp("audio") / "jfk-x6.wav"
    sf.write(path, np.tile(jfk_samples, 6), 16000, subtype="PCM_16")
    return path
