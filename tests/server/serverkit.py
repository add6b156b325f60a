"""Test helpers for the server tests (not fixtures): a running server, curl, the OpenAI error shape."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

THREADS = "2"  # the same for the server and the CLI, so the numbers are the same computation


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str  # http://127.0.0.1:PORT
    proc: subprocess.Popen
    log: Path

    def get(self, path: str, headers: dict | None = None) -> tuple[int, bytes, dict]:
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    def metrics(self) -> dict[str, float]:
        """``/metrics`` as {'name{labels}': value}."""
        status, body, _ = self.get("/metrics")
        assert status == 200
        values = {}
        for line in body.decode().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                values[key] = float(value)
        return values

    def wait_until(self, condition, timeout_s: float = 60, message: str = "") -> dict[str, float]:
        """Poll ``/metrics`` until ``condition(metrics)`` holds; returns those metrics."""
        deadline = time.monotonic() + timeout_s
        while not condition(m := self.metrics()):
            assert time.monotonic() < deadline, message or "timed out waiting on the server's metrics"
            time.sleep(0.05)
        return m

    def post_then_hang_up(self, path: Path) -> None:
        """Upload ``path`` completely to /v1/audio/transcriptions, then go away without reading the answer
        (once the request is queued or running)."""
        boundary = "b0undary"
        payload = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{path.name}\"\r\n"
                   f"Content-Type: audio/wav\r\n\r\n").encode() + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        busy_before = self._busy(self.metrics())
        with socket.create_connection(("127.0.0.1", int(self.url.rsplit(":", 1)[1]))) as sock:
            sock.sendall(b"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: multipart/form-data; boundary=" + boundary.encode() +
                         b"\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
            self.wait_until(lambda m: self._busy(m) > busy_before)

    @staticmethod
    def _busy(m: dict[str, float]) -> float:
        return m["whispercli_queue_depth"] + m["whispercli_in_flight"]

    def stop(self, timeout_s: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=timeout_s)


def curl(*args: str, timeout_s: float = 300) -> tuple[int, bytes, str]:
    """``(status, body, content type)`` of a curl call (curl's own options as a user types them)."""
    exe = shutil.which("curl")
    assert exe, "curl is required (./dev installs it)"
    proc = subprocess.run([exe, "-sS", "-o", "-", "-w", "\n%{http_code} %{content_type}", *args],
                          capture_output=True, timeout=timeout_s)
    assert proc.returncode == 0, proc.stderr.decode()
    body, _, tail = proc.stdout.rpartition(b"\n")
    code, _, content_type = tail.decode().partition(" ")
    return int(code), body, content_type


def error_of(body: bytes) -> dict:
    """The OpenAI error object (and a check of its shape)."""
    payload = json.loads(body)
    assert set(payload) == {"error"} and set(payload["error"]) == {"message", "type", "param", "code"}, payload
    assert "\n" not in payload["error"]["message"]
    return payload["error"]
