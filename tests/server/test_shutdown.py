"""SIGTERM: in-flight work drains and the server exits 0; past ``--drain-timeout`` what is left gets a clean 503."""

from __future__ import annotations

import http.client
import json
import signal
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from helpers import JFK_WORDS, words
from serverkit import curl, error_of

pytestmark = pytest.mark.slow


def _port(server) -> int:
    return int(server.url.rsplit(":", 1)[1])


def test_sigterm_drains_in_flight_work_and_exits_0(start_server, long_wav, jfk_wav):
    server = start_server("--workers", "2", "--drain-timeout", "600")
    url = f"{server.url}/v1/audio/transcriptions"
    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(curl, url, "-F", f"file=@{path}", "-F", "response_format=text")
                   for path in (long_wav, jfk_wav)]
        server.wait_until(lambda m: m["whispercli_in_flight"] >= 2, 60)
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        with pytest.raises(OSError):  # new connections are refused
            socket.create_connection(("127.0.0.1", _port(server)), timeout=2).close()
        results = [f.result() for f in running]
    assert [status for status, _, _ in results] == [200, 200]
    assert words(results[1][1].decode()) == JFK_WORDS
    assert server.proc.wait(timeout=60) == 0
    assert "stopped" in server.log.read_text()


def _slow_upload(port: int, data: bytes, duration_s: float) -> bytes:
    """POST ``data`` to /v1/audio/transcriptions over ``duration_s``; the raw answer ('' if none)."""
    boundary = "sl0w"
    body = _multipart(data, {}, boundary)
    pieces = 40
    step = -(-len(body) // pieces)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
                     f"boundary={boundary}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        try:
            for i in range(pieces):
                sock.sendall(body[i * step:(i + 1) * step])
                time.sleep(duration_s / pieces)
        except OSError:  # the server answered and closed while we were still sending
            pass
        reply = b""
        try:
            while chunk := sock.recv(65536):
                reply += chunk
        except OSError:
            pass
    return reply


def _multipart(data: bytes, fields: dict[str, str], boundary: str) -> bytes:
    parts = [f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n".encode()
             for k, v in fields.items()]
    return b"".join(parts) + (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
                              f"filename=\"a.wav\"\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()


def _started_stream(port: int, data: bytes):
    """A ``stream=true`` request whose first delta has arrived: ``(connection, response, lines read)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/v1/audio/transcriptions", body=_multipart(data, {"stream": "true"}, "str3am"),
                 headers={"Content-Type": "multipart/form-data; boundary=str3am"})
    resp = conn.getresponse()
    assert resp.status == 200
    lines = []
    while not any(b"transcript.text.delta" in line for line in lines):
        lines.append(resp.readline())
    return conn, resp, lines


def test_past_the_drain_timeout_what_is_left_gets_a_clean_503(start_server, long_wav, tmp_path):
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    server = start_server("--workers", "2", "--max-queue", "4", "--drain-timeout", "1",
                          env={"TMPDIR": str(server_tmp)})
    url = server.url
    long = f"file=@{long_wav}"
    with ThreadPoolExecutor(4) as pool:
        running = pool.submit(curl, f"{url}/v1/audio/transcriptions", "-D", str(tmp_path / "h1"), "-F", long)
        conn, stream, lines = _started_stream(_port(server), long_wav.read_bytes())
        server.wait_until(lambda m: m["whispercli_in_flight"] >= 2, 60)
        queued = pool.submit(curl, f"{url}/inference", "-D", str(tmp_path / "h3"), "-F", long)
        server.wait_until(lambda m: m["whispercli_queue_depth"] >= 1, 60)
        # still uploading when uvicorn's own timeout (drain + 5 s) cancels it
        uploading = pool.submit(_slow_upload, _port(server), long_wav.read_bytes()[:400_000], 12.0)
        time.sleep(0.5)
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        assert server.proc.wait(timeout=60) == 0
        assert time.monotonic() - t0 < 20

        # running and queued requests: 503 + Retry-After in the endpoint's shape (the OpenAI SDK retries a 503)
        status, body, _ = running.result()
        assert status == 503 and error_of(body)["code"] == "shutting_down"
        assert "retry-after: 1" in (tmp_path / "h1").read_text().lower()
        status, body, _ = queued.result()
        assert status == 503 and "shutting down" in json.loads(body)["error"]
        assert "retry-after: 1" in (tmp_path / "h3").read_text().lower()
        # a stream already answered 200: it ends with OpenAI's error event
        body = b"".join(lines) + stream.read()
        conn.close()
        events = [json.loads(line[len("data: "):]) for line in body.decode().splitlines() if line.startswith("data: ")]
        assert events[0]["type"] == "transcript.text.delta" and events[-1]["type"] == "error"
        assert events[-1]["error"]["code"] == "shutting_down"
        # an upload cut short by uvicorn's cancellation: a 503 too, not uvicorn's 500
        reply = uploading.result()
        assert reply.startswith(b"HTTP/1.1 503 ") and b"retry-after: 1" in reply.lower()
        assert b'"shutting_down"' in reply

    log = server.log.read_text()
    assert "Traceback" not in log and "Exception in ASGI" not in log and "500" not in log, log
    assert "stopped" in log
    assert not list(server_tmp.iterdir()), "temporary files left behind"
