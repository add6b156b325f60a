"""``transcribe --cluster``: a real Dask scheduler and workers on 127.0.0.1, real model, real audio."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from helpers import default_sigint, one_line, words
from whispercli.cli.exit_codes import ExitStatus

distributed = pytest.importorskip("distributed", reason="the cluster extra is not installed (./dev installs it)")

pytestmark = pytest.mark.slow

CLIPS = ["Good morning, everyone.", "The meeting starts at nine.", "Please close the door behind you.",
         "It is raining again today.", "Thank you for listening."]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def clips(speak, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clips")
    for n, text in enumerate(CLIPS):
        (folder / f"clip{n}.wav").write_bytes(speak(text).read_bytes())
    (folder / "broken.wav").write_bytes(b"RIFF not really a wave file")
    return folder


@pytest.fixture(scope="module")
def env(models_dir, tiny_en_path):
    return dict(os.environ, WHISPERCLI_MODELS_DIR=str(models_dir))


@pytest.fixture(scope="module")
def scheduler(env):
    """A Dask scheduler and two single-thread workers, as `dask scheduler` / `dask worker` start them."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    procs = [subprocess.Popen([*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(2):
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--nworkers", "1",
                 "--host", "127.0.0.1", "--no-dashboard"], env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with distributed.Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _transcribe(env, *args, timeout=600):
    return subprocess.run([sys.executable, "-m", "whispercli", "transcribe", "-m", "tiny.en", "-t", "1",
                           *map(str, args)], env=env, capture_output=True, timeout=timeout)


def test_cluster_writes_the_bytes_of_a_local_run(env, clips, scheduler, tmp_path):
    formats = ["-otxt", "-osrt", "-ojf"]
    local = _transcribe(env, *formats, "-od", tmp_path / "local", clips)
    remote = _transcribe(env, *formats, "-od", tmp_path / "cluster", "--cluster", scheduler, clips)
    assert local.returncode == remote.returncode == ExitStatus.PARTIAL  # broken.wav fails, the rest is done
    assert one_line(remote.stderr) == one_line(local.stderr)  # the bad input, reported once
    assert "broken.wav" in one_line(remote.stderr)
    expected = sorted(p.name for p in (tmp_path / "local").iterdir())
    assert len(expected) == 3 * len(CLIPS)
    assert sorted(p.name for p in (tmp_path / "cluster").iterdir()) == expected
    for name in expected:
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    # stdout: each file's segment lines as one block, the same lines as the local run
    assert sorted(remote.stdout.decode().splitlines()) == sorted(local.stdout.decode().splitlines())

    again = _transcribe(env, *formats, "-od", tmp_path / "cluster", "--cluster", scheduler, "--skip-existing",
                        *sorted(clips.glob("clip*.wav")))
    assert again.returncode == 0
    assert again.stderr.decode().count("outputs exist") == len(CLIPS)


def test_english_only_model_warning_is_said_once_as_a_local_run_says_it(env, clips, scheduler, tmp_path):
    inputs = sorted(clips.glob("clip*.wav"))[:3]
    local = _transcribe(env, "-l", "de", "-otxt", "-od", tmp_path / "local", *inputs)
    remote = _transcribe(env, "-l", "de", "-otxt", "-od", tmp_path / "cluster", "--cluster", scheduler, *inputs)
    assert local.returncode == remote.returncode == 0, remote.stderr
    warning = b"whispercli: warning: model is not multilingual, ignoring language and translation options\n"
    assert local.stderr == warning
    assert remote.stderr == warning  # once for the run, not once per input
    for path in inputs:  # and the workers did as the warning says: English, as locally
        name = path.name + ".txt"
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()


def test_shared_inputs_are_read_by_the_workers(env, clips, scheduler, tmp_path):
    proc = _transcribe(env, "-otxt", "-od", tmp_path, "--cluster", scheduler, "--cluster-shared", clips / "clip1.wav")
    assert proc.returncode == 0, proc.stderr
    assert "the meeting starts at" in words((tmp_path / "clip1.wav.txt").read_text())


def test_unreachable_scheduler_is_one_line(env, clips):
    proc = _transcribe(env, "--cluster", f"tcp://127.0.0.1:{_free_port()}", clips / "clip0.wav")
    assert proc.returncode == ExitStatus.CLUSTER
    assert "cannot reach the Dask scheduler" in one_line(proc.stderr)


def test_model_missing_on_the_workers_is_reported_once(env, clips, tmp_path):
    proc = _transcribe(env, "-m", tmp_path / "nope.bin", "-otxt", "-od", tmp_path, "--cluster", "local:1", clips)
    assert proc.returncode == ExitStatus.MODEL
    assert "model file not found" in one_line(proc.stderr)


def test_a_worker_killed_mid_file_loses_and_repeats_nothing(tiny_en_path, speak, tmp_path):
    from whispercli.cluster import ModelSpec, TaskInput, open_cluster, run_on_cluster
    from whispercli.job import JobResult
    from whispercli.options import TranscribeOptions

    long_text = " ".join(f"Sentence number {n} is here so that the file takes a while." for n in range(1, 9))
    inputs = [speak(long_text), speak(CLIPS[0]), speak(CLIPS[1]), speak(CLIPS[2])]
    options = TranscribeOptions(threads=1)
    tasks = [TaskInput(str(p), str(p), options, None) for p in inputs]
    killed: list[str] = []

    def kill_a_busy_worker(client, pids) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [addr for addr, keys in client.processing().items() if keys and addr in pids]
            if busy:
                time.sleep(1.0)  # into the task (the model load included), not before it
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.05)

    with open_cluster("local:2") as client:
        pids = client.run(os.getpid)  # worker address -> pid
        killer = threading.Thread(target=kill_a_busy_worker, args=(client, pids), daemon=True)
        killer.start()
        results = dict(run_on_cluster(client, ModelSpec(str(tiny_en_path)), tasks))
        killer.join()
    assert killed, "no task ever started"
    assert sorted(results) == [0, 1, 2, 3]  # every input once
    assert all(isinstance(r, JobResult) for r in results.values()), results
    text = words(" ".join(seg.text for seg in results[0].transcript.segments))
    assert "sentence number one" in text and "sentence number eight" in text


def test_ctrl_c_cancels_and_keeps_finished_outputs(env, clips, speak, tmp_path):
    long_text = " ".join(f"Sentence number {n} is here so that the file takes a while." for n in range(1, 9))
    inputs = [clips / "clip0.wav"] + [speak(long_text + f" Copy {n}.") for n in range(4)]
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "whispercli", "transcribe", "-m", "tiny.en", "-t", "1",
                             "-otxt", "-od", str(out), "--cluster", "local:2", *map(str, inputs)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_sigint)
    deadline = time.monotonic() + 300
    while not any(out.glob("*.txt")) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == ExitStatus.INTERRUPTED, stderr
    assert b"Traceback" not in stderr
    finished = sorted(out.iterdir())
    assert finished and len(finished) < len(inputs)
    assert all(p.suffix == ".txt" and p.read_text().strip() for p in finished)  # whole files, no temp files
