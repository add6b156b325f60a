"""Two ``whispercli serve`` instances behind a real nginx (Debian's, with the README's config) on 127.0.0.1.

A bounded load goes through nginx; one instance is SIGKILLed mid-load, while it runs one request
and holds at least one more in its queue.  Every request is either answered with the CLI's text or
failed cleanly with a retryable status (none lost: nginx's log and the client count the same
requests), no request was sent to two instances or answered twice (nginx's log per attempt and
the instances' own ``/metrics``), and the survivor carried every request that came after the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from nginxkit import start_nginx
from serverkit import THREADS, curl, free_port

pytestmark = pytest.mark.slow

N_REQUESTS = 72
CONCURRENCY = 6
ENDPOINT = "/v1/audio/transcriptions"
RETRYABLE = {502, 503, 504}
TEXTS = ["Good morning, everyone.", "The meeting starts at nine.", "Please close the door behind you.",
         "Thank you for listening."]
ANSWERED = f'whispercli_requests_total{{endpoint="{ENDPOINT}",status="200"}}'


@pytest.fixture(scope="module")
def clips(speak, tiny_en_path, tmp_path_factory) -> list[tuple[str, bytes]]:
    """``[(path, the text transcribe writes for it)]``: what each request must be answered with."""
    paths = [speak(text) for text in TEXTS]
    out = tmp_path_factory.mktemp("cli")
    proc = subprocess.run([sys.executable, "-m", "whispercli", "transcribe", "-m", str(tiny_en_path), "-t", THREADS,
                           "-np", "-otxt", "-od", str(out), *map(str, paths)], capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()
    return [(str(p), (out / f"{p.name}.txt").read_bytes()) for p in paths]


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _sent_to(metrics: dict[str, float]) -> float:
    """Requests on ENDPOINT an instance answered (any status), by its own count."""
    prefix = f'whispercli_requests_total{{endpoint="{ENDPOINT}",'
    return sum(value for key, value in metrics.items() if key.startswith(prefix))


def test_an_instance_killed_mid_load_loses_nothing_and_answers_nothing_twice(start_server, clips, tmp_path):
    victim, survivor = [start_server("--workers", "1", "--max-queue", "16") for _ in range(2)]
    victim_addr, survivor_addr = (f"127.0.0.1:{_port(s)}" for s in (victim, survivor))
    nginx = start_nginx(tmp_path / "nginx", free_port(), [_port(victim), _port(survivor)])
    done = []  # ids of the requests answered so far (list.append is atomic)
    killed: dict = {}

    def one(i: int) -> tuple[int, int, bytes]:
        path, _ = clips[i % len(clips)]
        status, body, _ = curl(nginx.url + ENDPOINT, "-H", f"X-Test-Id: {i}", "-F", f"file=@{path}",
                               "-F", "response_format=text")
        done.append(i)
        return i, status, body

    def kill_mid_load() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and len(done) < N_REQUESTS:
            if len(done) >= N_REQUESTS // 4:
                m = victim.metrics()
                if m["whispercli_in_flight"] >= 1 and m["whispercli_queue_depth"] >= 1:
                    os.kill(victim.proc.pid, signal.SIGKILL)
                    victim.proc.wait()  # reaped: its sockets are closed, a connection is refused from now on
                    killed.update(at_s=time.time(), answered=m.get(ANSWERED, 0.0))
                    return
            time.sleep(0.02)

    try:
        t0 = time.monotonic()
        killer = threading.Thread(target=kill_mid_load, daemon=True)
        killer.start()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            results = {i: (status, body) for i, status, body in pool.map(one, range(N_REQUESTS))}
        killer.join()
        assert time.monotonic() - t0 < 600
        assert killed, "the victim never had a request running and one queued"
        assert victim.proc.wait(timeout=30) == -signal.SIGKILL

        # the client: every request answered with its clip's text, or a retryable status
        failed = {i for i, (status, _) in results.items() if status != 200}
        for i, (status, body) in results.items():
            if status == 200:
                assert body == clips[i % len(clips)][1], (i, body[:200])
            else:
                assert status in RETRYABLE, (i, status, body[:300])
        # the kill hit work in progress (at least the queued request failed), and only requests in flight failed
        assert 1 <= len(failed) <= CONCURRENCY, (len(failed), killed)

        # nginx's log: each request once, with every instance it tried
        deadline = time.monotonic() + 10  # nginx writes the line just after the answer
        while len(log := nginx.access_log()) < N_REQUESTS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(int(line.test_id) for line in log) == list(range(N_REQUESTS))
        for line in log:
            assert line.status == results[int(line.test_id)][0]
            statuses = [a.status for a in line.attempts]
            assert statuses.count("200") <= 1 and statuses[-1] == str(line.status), line
            # a POST is sent to a second instance only if the first never got it (refused connection)
            assert all(a.bytes_sent == 0 for a in line.attempts[:-1]), line
            if line.status != 200:
                assert line.attempts[-1].addr == victim_addr and line.start_s <= killed["at_s"], line
            if line.start_s > killed["at_s"]:  # the survivor carried what came after the kill
                assert line.status == 200 and line.attempts[-1].addr == survivor_addr, line
        after_kill = [line for line in log if line.start_s > killed["at_s"]]
        tried_victim = [line for line in after_kill if line.attempts[0].addr == victim_addr]
        assert after_kill and len(tried_victim) < len(after_kill) / 2, "max_fails did not take the victim out"

        # the instances' own counts agree with nginx's: nothing answered twice, nothing answered unseen
        answered_by = {addr: sum(1 for line in log if line.status == 200 and line.attempts[-1].addr == addr)
                       for addr in (victim_addr, survivor_addr)}
        assert answered_by[victim_addr] + answered_by[survivor_addr] == N_REQUESTS - len(failed)
        m = survivor.metrics()
        assert m[ANSWERED] == answered_by[survivor_addr]
        assert _sent_to(m) == sum(1 for line in log for a in line.attempts if a.addr == survivor_addr)
        # the victim's count died with it: what it had answered at the kill, plus at most the request it was
        # running and one whose answer was on its way out
        assert killed["answered"] <= answered_by[victim_addr] <= killed["answered"] + 2, (answered_by, killed)
        assert m["whispercli_in_flight"] == 0 and m["whispercli_queue_depth"] == 0
    finally:
        nginx.stop()
