"""The command line as a user meets it: real subprocesses, real exit statuses."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from whispercli.cli.exit_codes import ExitStatus
from whispercli.models.registry import MODELS


def whispercli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whispercli", *args], capture_output=True, text=True, **kwargs)


def test_help_imports_neither_numpy_nor_the_native_module():
    code = (
        "import sys\n"
        "from whispercli.cli.app import run\n"
        "status = run(['--help']) + run(['serve', '--help'])\n"
        "heavy = [m for m in ('numpy', 'whispercli._native', 'whispercli._whisper_cffi', 'soundfile', 'pydub',"
        " 'starlette', 'uvicorn', 'python_multipart', 'prometheus_client', 'whispercli.server') if m in sys.modules]\n"
        "print(status, heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "0 []"


def test_version_names_both_versions_and_system_info():
    proc = whispercli("--version")
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == "whispercli 0.1.0"
    assert lines[1].startswith("whisper.cpp 1.9.1")
    assert lines[2].startswith("system_info: WHISPER : COREML = 0")


def test_unknown_command_is_a_usage_error():
    proc = whispercli("transcribbe")
    assert proc.returncode == ExitStatus.USAGE
    assert proc.stderr.strip().startswith("whispercli: error: No such command 'transcribbe'. Did you mean 'transcribe'")
    assert len(proc.stderr.strip().splitlines()) == 1
    assert proc.stdout == ""


def test_convert_model(tmp_path, ct2_models):
    out = tmp_path / "ggml-tiny.en.bin"
    proc = whispercli("convert-model", str(ct2_models["tiny.en"]), str(out))
    assert proc.returncode == 0, proc.stderr
    tiny_en = MODELS["tiny.en"]
    assert proc.stdout == f"{out}\t{tiny_en.size_bytes} bytes\tsha1 {tiny_en.sha1}\tmatches official tiny.en\n"


def test_convert_model_parts(tmp_path, ct2_models):
    out = tmp_path / "ggml-base.bin"
    proc = whispercli("convert-model", str(ct2_models["base.part1"]), str(out),
                      "--parts-from", str(ct2_models["base.part2"]))
    assert proc.returncode == 0, proc.stderr
    assert f"sha1 {MODELS['base'].sha1}\tmatches official base" in proc.stdout


@pytest.mark.parametrize("debug", [False, True])
def test_convert_model_bad_source(tmp_path, debug):
    (tmp_path / "src").mkdir()
    args = ["--debug"] if debug else []
    proc = whispercli(*args, "convert-model", str(tmp_path / "src"), str(tmp_path / "out.bin"))
    assert proc.returncode == (1 if debug else ExitStatus.MODEL)
    assert not (tmp_path / "out.bin").exists()
    if debug:
        assert "Traceback" in proc.stderr
    else:
        assert len(proc.stderr.strip().splitlines()) == 1
        assert proc.stderr.startswith("whispercli: error: ") and "src" in proc.stderr


_THREADS_AFTER_NUMPY = (
    "import os, sys\n"
    "from whispercli.cli.app import main\n"
    "if sys.argv[1] == 'main':\n"
    "    try:\n"
    "        main(['--help'])\n"
    "    except SystemExit:\n"
    "        pass\n"
    "import numpy\n"
    "print(os.environ.get('OPENBLAS_NUM_THREADS'), len(os.listdir('/proc/self/task')))\n"
)


@pytest.mark.skipif(not os.path.isdir("/proc/self/task") or (os.cpu_count() or 1) < 2,
                    reason="needs Linux /proc and two or more CPUs (OpenBLAS starts no threads on one)")
def test_the_cli_keeps_numpy_from_starting_blas_threads():
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}

    def run(how: str, **extra: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-c", _THREADS_AFTER_NUMPY, how],
                              capture_output=True, text=True, env={**env, **extra}, check=True)
        return proc.stdout.splitlines()[-1].split()  # OPENBLAS_NUM_THREADS, threads after importing numpy

    # a plain import of numpy starts OpenBLAS's threads (the control: this test can fail) ...
    value, threads = run("plain")
    assert value == "None" and int(threads) > 1
    # ... the CLI's entry point keeps it to the main thread, and a user's own setting wins
    assert run("main") == ["1", "1"]
    value, threads = run("main", OPENBLAS_NUM_THREADS="2")
    assert value == "2" and int(threads) > 1
