"""``whispercli serve``: added latency over in-process, throughput against ``transcribe --jobs``, p50/p95.

    .venv/bin/python benchmarks/serve.py [--model tiny.en] [--runs 10] [--clips 12] [--out benchmarks/SERVE.md]

1. Added latency: the same jfk.wav request, in-process (``whispercli.job.run_job``) and over
   HTTP to a ``serve --workers 1`` on 127.0.0.1, interleaved run by run; the median of the
   differences is what the server adds (upload, parse, queue, render, answer).
2. Throughput at concurrency 2: ``serve --workers 2 -t 1`` with two clients, against
   ``transcribe --jobs 2 -t 2`` (which gives each job 1 thread) over the same clips: files/hour.
3. Latency under a steady load for a few ``--workers``/``-t`` choices: p50 and p95.

Timings belong here, not in the tests. Figures taken while other work runs on the machine
are relative only: the report says how loaded the machine was.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JFK = ROOT / "whisper.cpp" / "samples" / "jfk.wav"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    def __init__(self, model: str, *flags: str) -> None:
        self.port = _free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "whispercli", "serve", "-m", model, "--port",
                                      str(self.port), *flags], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("server did not start")

    def post(self, data: bytes, name: str = "a.wav") -> float:
        boundary = "bench"
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"response_format\"\r\n\r\ntext\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\r\n"
                ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/audio/transcriptions", data=body,
                                         headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=600) as resp:
            resp.read()
        return time.perf_counter() - t0

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=120)


def added_latency(model: str, runs: int, threads: int) -> dict:
    from whispercli import Model
    from whispercli.job import run_job
    from whispercli.models.registry import resolve_model
    from whispercli.options import TranscribeOptions, validate

    options = validate(TranscribeOptions(threads=threads))
    data = JFK.read_bytes()
    server = _Server(model, "--workers", "1", "-t", str(threads))
    local, remote = [], []
    try:
        with Model.load(resolve_model(model)) as m:
            run_job(m, data, options), server.post(data)  # warm-up
            for _ in range(runs):
                t0 = time.perf_counter()
                run_job(m, data, options).render("txt")
                local.append(time.perf_counter() - t0)
                remote.append(server.post(data))
    finally:
        server.stop()
    diffs = [r - loc for r, loc in zip(remote, local)]
    return {"in_process_s": statistics.median(local), "http_s": statistics.median(remote),
            "added_ms": statistics.median(diffs) * 1000}


def _clips(n: int, workdir: Path) -> list[Path]:
    """n different clips: jfk.wav with a little leading silence each, so no two are the same bytes."""
    import numpy as np
    import soundfile as sf

    samples, rate = sf.read(JFK, dtype="float32")
    paths = []
    for i in range(n):
        path = workdir / f"clip{i:02d}.wav"
        sf.write(path, np.concatenate([np.zeros(rate * i // 10, np.float32), samples]), rate, subtype="PCM_16")
        paths.append(path)
    return paths


def throughput(model: str, clips: list[Path], workdir: Path) -> dict:
    server = _Server(model, "--workers", "2", "-t", "1", "--max-queue", "64")
    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda p: server.post(p.read_bytes(), p.name), clips))
        serve_s = time.perf_counter() - t0
    finally:
        server.stop()
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "whispercli", "transcribe", "-m", model, "--jobs", "2", "-t", "2", "-np",
                    "-otxt", "-od", str(workdir / "out"), *map(str, clips)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli_s = time.perf_counter() - t0
    return {"serve_files_per_hour": len(clips) * 3600 / serve_s, "cli_files_per_hour": len(clips) * 3600 / cli_s}


def steady_load(model: str, clips: list[Path], configs: list[tuple[int, int]], concurrency: int) -> list[dict]:
    rows = []
    for workers, threads in configs:
        server = _Server(model, "--workers", str(workers), "-t", str(threads), "--max-queue", "64")
        try:
            with ThreadPoolExecutor(concurrency) as pool:
                t0 = time.perf_counter()
                latencies = sorted(pool.map(lambda p: server.post(p.read_bytes(), p.name), clips))
                wall_s = time.perf_counter() - t0
        finally:
            server.stop()
        rows.append({"workers": workers, "threads": threads, "p50_s": latencies[len(latencies) // 2],
                     "p95_s": latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
                     "files_per_hour": len(clips) * 3600 / wall_s})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "SERVE.md"))
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        clips = _clips(args.clips, workdir)
        latency = added_latency(args.model, args.runs, threads=2)
        through = throughput(args.model, clips, workdir)
        steady = steady_load(args.model, clips, [(1, 2), (2, 1)], concurrency=4)
    lines = [
        "# whispercli serve: measured",
        "",
        f"`benchmarks/serve.py --model {args.model} --runs {args.runs} --clips {args.clips}`, "
        f"{os.cpu_count()} CPUs, load average {load_before:.1f} at the start"
        + (" (other work was running: relative figures only)" if load_before > 0.5 else "") + ".",
        "",
        "| measure | value |",
        "|---|---|",
        f"| jfk.wav in-process (`run_job`, -t 2), median | {latency['in_process_s']:.3f} s |",
        f"| jfk.wav over HTTP (`serve --workers 1 -t 2`), median | {latency['http_s']:.3f} s |",
        f"| added by the server, median of paired differences | {latency['added_ms']:.1f} ms |",
        f"| `serve --workers 2 -t 1`, 2 clients | {through['serve_files_per_hour']:.0f} files/hour |",
        f"| `transcribe --jobs 2 -t 2` | {through['cli_files_per_hour']:.0f} files/hour |",
        "",
        "Steady load, 4 concurrent clients:",
        "",
        "| --workers | -t | p50 | p95 | files/hour |",
        "|---|---|---|---|---|",
        *(f"| {r['workers']} | {r['threads']} | {r['p50_s']:.2f} s | {r['p95_s']:.2f} s | "
          f"{r['files_per_hour']:.0f} |" for r in steady),
        "",
    ]
    Path(args.out).write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
