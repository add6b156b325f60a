"""nginx (Debian's) in front of servers on 127.0.0.1, with the README's config, run as the current user.

Everything nginx writes (pid, logs, request bodies) stays in the test's directory; the access log
records, per request, every instance nginx tried, with its status and the bytes nginx sent it.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Servers behind a load balancer"
# the request's id (a header the test sends), when it ended, how long it took, the status the client got,
# then one entry per instance tried, in order
LOG_FORMAT = "$http_x_test_id|$msec|$request_time|$status|$upstream_addr|$upstream_status|$upstream_bytes_sent"


def nginx_exe() -> str:
    # Debian puts it in /usr/sbin, which is not on an ordinary user's PATH
    exe = shutil.which("nginx", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")
    assert exe, "nginx is required (./dev installs Debian's nginx-light)"
    return exe


def readme_config(listen_port: int, upstream_ports: list[int]) -> str:
    """The README's nginx block, with the test's ports in place of 8080 (nginx) and 8081, 8082, ..."""
    text = README.read_text(encoding="utf-8")
    assert SECTION in text and "```nginx\n" in text.split(SECTION, 1)[1], f"README: no nginx block under {SECTION!r}"
    block = text.split(SECTION, 1)[1].split("```nginx\n", 1)[1].split("```", 1)[0]
    listen = "listen 127.0.0.1:8080;"
    assert listen in block
    block = block.replace(listen, f"listen 127.0.0.1:{listen_port};")
    servers = re.findall(r"^\s*server 127\.0\.0\.1:\d+ .*;$", block, re.M)
    assert len(servers) == len(upstream_ports), servers
    for line, port in zip(servers, upstream_ports):
        block = block.replace(line, re.sub(r":\d+ ", f":{port} ", line, count=1))
    return block


@dataclass(frozen=True)
class Attempt:
    addr: str  # 127.0.0.1:PORT of the instance tried
    status: str  # its answer ("502" when the connection failed)
    bytes_sent: int  # what nginx sent it: 0 when the request never reached it


@dataclass(frozen=True)
class LogLine:
    test_id: str
    start_s: float  # wall clock (time.time()) when nginx began reading the request
    status: int  # what the client got
    attempts: tuple[Attempt, ...]


@dataclass
class Nginx:
    url: str
    proc: subprocess.Popen
    prefix: Path

    def access_log(self) -> list[LogLine]:
        """The test's requests (those that sent ``X-Test-Id``), in the order they ended."""
        lines = []
        for raw in (self.prefix / "access.log").read_text().splitlines():
            test_id, end_s, took_s, status, addrs, statuses, sent = raw.split("|")
            if test_id == "-":  # not one of the test's requests (the start-up probe)
                continue
            attempts = tuple(Attempt(a.strip(), s.strip(), int(b.strip()))
                             for a, s, b in zip(addrs.split(","), statuses.split(","), sent.split(",")))
            lines.append(LogLine(test_id, float(end_s) - float(took_s), int(status), attempts))
        return lines

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def start_nginx(prefix: Path, listen_port: int, upstream_ports: list[int]) -> Nginx:
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "whispercli.conf").write_text(readme_config(listen_port, upstream_ports))
    # as root the workers would switch to another user, who cannot write in the test's directory
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp_paths = "".join(f"    {kind}_temp_path {prefix / kind};\n"
                         for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"{user}worker_processes 2;\npid {prefix / 'nginx.pid'};\nerror_log {prefix / 'error.log'} notice;\n"
        f"events {{ worker_connections 256; }}\n"
        f"http {{\n    log_format balancer '{LOG_FORMAT}';\n    access_log {prefix / 'access.log'} balancer;\n"
        f"{temp_paths}    include {prefix / 'whispercli.conf'};\n}}\n")
    proc = subprocess.Popen([nginx_exe(), "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                             "-e", str(prefix / "error.log"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    nginx = Nginx(f"http://127.0.0.1:{listen_port}", proc, prefix)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() + (prefix / "error.log").read_text()
        try:
            with urllib.request.urlopen(nginx.url + "/health", timeout=5) as resp:
                if resp.status == 200:
                    return nginx
        except OSError:
            time.sleep(0.1)
    nginx.stop()
    raise AssertionError("nginx did not answer: " + (prefix / "error.log").read_text())
