"""``whispercli bench -w 0`` against whisper.cpp's own ``whisper-bench``: the same figures?

    .venv/bin/python benchmarks/bench_agreement.py [--model PATH] [--threads 2] [--rounds 3]

Both programs make the same libwhisper calls, so their encode and decode "ms per run"
should agree.  The two run in turns (``--rounds`` times, so background load hits both
alike); each side keeps its best figure.  Exit status 1 when a ratio (ours /
whisper-bench) falls outside 0.5x-2x, the bound tests/test_bench.py used to assert.
A timing bound lives here, not in the test suite.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUND = (0.5, 2.0)
PHASES = ("encode", "decode")


def whisper_bench_figures(exe: Path, model: Path, threads: int) -> dict[str, float]:
    """whisper-bench -w 0's ms per run, read as bench-all.sh reads them (field 11)."""
    proc = subprocess.run([str(exe), "-m", str(model), "-t", str(threads)], capture_output=True, text=True,
                          check=True)
    figures = {}
    for line in proc.stderr.splitlines():
        if line.startswith("whisper_print_timings:") and " runs (" in line:
            fields = line.split()
            figures[fields[1]] = float(fields[10])
    return {p: figures[p] for p in PHASES}


def our_figures(model: Path, threads: int) -> dict[str, float]:
    proc = subprocess.run([sys.executable, "-m", "whispercli", "bench", "-m", str(model), "-t", str(threads),
                           "--json"], capture_output=True, text=True, check=True)
    (result,) = json.loads(proc.stdout)["results"]
    return {p: result[f"{p}_ms"]["median"] for p in PHASES}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, help="a ggml model (default: the cached tiny.en)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    model = args.model
    if model is None:
        from whispercli.models.registry import resolve_model

        model = Path(resolve_model("tiny.en"))
    subprocess.run([sys.executable, str(ROOT / "build_native.py"), "--whisper-cli"], check=True,
                   stdout=subprocess.DEVNULL)
    bin_dir = Path(subprocess.run([sys.executable, str(ROOT / "build_native.py"), "--print-bin-dir"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    ours: dict[str, float] = {}
    theirs: dict[str, float] = {}
    for _ in range(args.rounds):
        for p, v in our_figures(model, args.threads).items():
            ours[p] = min(v, ours.get(p, v))
        for p, v in whisper_bench_figures(bin_dir / "whisper-bench", model, args.threads).items():
            theirs[p] = min(v, theirs.get(p, v))
    ok = True
    for p in PHASES:
        ratio = ours[p] / theirs[p]
        inside = BOUND[0] <= ratio <= BOUND[1]
        ok &= inside
        print(f"{p} ms/run: whispercli bench {ours[p]:.2f}, whisper-bench {theirs[p]:.2f}, "
              f"ratio {ratio:.2f}{'' if inside else f' OUTSIDE {BOUND[0]}x-{BOUND[1]}x'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
