"""Test helpers for the server tests (not fixtures): a running server, curl, the OpenAI error shape."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
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
