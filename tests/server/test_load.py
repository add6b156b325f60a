"""A bounded load test on 127.0.0.1: a few hundred mixed requests at concurrency 8.

Good files, bad files, bad fields, oversized uploads, clients that disconnect mid-upload
and slow uploads: every good request gets the CLI's text, every bad one its status, the
``/metrics`` counters equal what was sent, and the server is alive afterwards with its open
file descriptors back where they were after warm-up and its memory flat between the two halves of the load.
"""

from __future__ import annotations

import random
import socket
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from serverkit import curl

pytestmark = pytest.mark.slow

N_REQUESTS = 240
CONCURRENCY = 8
ENDPOINT = "/v1/audio/transcriptions"


def _multipart(data: bytes, boundary: str = "l0ad") -> tuple[bytes, str]:
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\ntext\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
            f"Content-Type: audio/wav\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _raw_post(port: int, data: bytes, *, pieces: int, pause_s: float, stop_after: int | None = None) -> int | None:
    """POST ``data`` as a form in ``pieces`` chunks; ``stop_after`` chunks then hang up (returns None)."""
    body, content_type = _multipart(data)
    head = (f"POST {ENDPOINT} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    step = -(-len(body) // pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=300) as sock:
        sock.sendall(head)
        for i in range(pieces):
            if stop_after is not None and i == stop_after:
                return None
            sock.sendall(body[i * step:(i + 1) * step])
            time.sleep(pause_s)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return int(reply.split(b" ", 2)[1])


def _fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_mixed_load(start_server, jfk_wav, cli_outputs, tmp_path):
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    server = start_server("--workers", "2", "--max-queue", "64", "--max-upload-mb", "1",
                          env={"TMPDIR": str(server_tmp)})
    port = int(server.url.rsplit(":", 1)[1])
    url = server.url + ENDPOINT
    expected_text = cli_outputs()["txt"]
    garbage = tmp_path / "garbage.wav"
    garbage.write_bytes(b"definitely not audio " * 50)
    oversized = tmp_path / "big.wav"
    oversized.write_bytes(b"\0" * (3 << 19))  # 1.5 MB
    jfk = jfk_wav.read_bytes()

    kinds = {
        "good": lambda: curl(url, "-F", f"file=@{jfk_wav}", "-F", "response_format=text"),
        "garbage": lambda: curl(url, "-F", f"file=@{garbage}"),
        "bad_field": lambda: curl(url, "-F", f"file=@{jfk_wav}", "-F", "beam_size=many"),
        "no_file": lambda: curl(url, "-F", "model=whisper-1"),
        "oversized": lambda: curl(url, "-F", f"file=@{oversized}"),
        "disconnect": lambda: (_raw_post(port, jfk, pieces=4, pause_s=0.05, stop_after=2), b"", ""),
        "slow": lambda: (_raw_post(port, jfk, pieces=5, pause_s=0.2), b"", ""),
    }
    expected_status = {"good": 200, "garbage": 400, "bad_field": 400, "no_file": 400, "oversized": 413,
                       "disconnect": None, "slow": 200}
    server_status = {**expected_status, "disconnect": 499}
    weights = {"good": 20, "garbage": 25, "bad_field": 25, "no_file": 25, "oversized": 25, "disconnect": 10,
               "slow": 3}
    rng = random.Random(10)
    plan = rng.choices(list(weights), weights=list(weights.values()), k=N_REQUESTS)

    def one(kind: str):
        status, body, _ = kinds[kind]()
        return kind, status, body

    # warm-up: the first requests allocate what the server keeps (model buffers, thread stacks, imports)
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(one, ["good"] * 4 + ["garbage", "oversized", "disconnect", "slow"] * 2))
    time.sleep(1.0)
    fds_before, rss_before = _fds(server.proc.pid), _rss_kb(server.proc.pid)
    before = server.metrics()

    # two halves: memory may rise to a high-water mark (malloc keeps freed blocks), but must not grow per request
    t0 = time.monotonic()
    half = len(plan) // 2
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        results = list(pool.map(one, plan[:half]))
        time.sleep(1.0)
        rss_half = _rss_kb(server.proc.pid)
        results += list(pool.map(one, plan[half:]))
    assert time.monotonic() - t0 < 900

    for kind, status, body in results:
        assert status == expected_status[kind], (kind, status, body[:300])
        if kind == "good":
            assert body == expected_text
    time.sleep(1.0)  # the disconnected requests' handlers finish
    after = server.metrics()
    sent = Counter((server_status[kind]) for kind in plan)
    for status, count in sent.items():
        key = f'whispercli_requests_total{{endpoint="{ENDPOINT}",status="{status}"}}'
        assert after.get(key, 0) - before.get(key, 0) == count, (status, count)
    n_good = sum(1 for k in plan if k in ("good", "slow"))
    assert after["whispercli_inference_seconds_count"] - before["whispercli_inference_seconds_count"] >= n_good
    assert after["whispercli_in_flight"] == 0 and after["whispercli_queue_depth"] == 0
    assert curl(f"{server.url}/health")[0] == 200
    assert server.proc.poll() is None
    assert _fds(server.proc.pid) <= fds_before + 2
    rss_end = _rss_kb(server.proc.pid)
    assert rss_end - rss_half < 32 * 1024, (
        f"memory grew with the requests: {rss_before} kB after warm-up, {rss_half} kB after {half} requests, "
        f"{rss_end} kB after {len(plan)}")
    assert not list(server_tmp.iterdir()), "temporary files left behind"
