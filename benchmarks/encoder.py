"""The encoder alone: milliseconds per 30 s window (goal 3 of the engine issue).

    .venv/bin/python benchmarks/encoder.py [--model tiny.en] [--threads 2] [--runs 7] [--rounds 2]

Encodes whisper-bench's all-zero mel window ``--runs`` times after one untimed warm-up
(the work does not depend on the values), for the default engine and ``--exact``,
``--rounds`` times interleaved so that drift on the machine hits both alike; prints the
median, min and max of each round.  ``--nfa`` runs the non-flash-attention graph instead.
"""

from __future__ import annotations

import argparse
import statistics
import time


def encode_ms(model: str, *, threads: int, runs: int, exact: bool, flash_attn: bool) -> list[float]:
    from whispercli import _native
    from whispercli.bench.runs import _Loaded

    loaded = _Loaded(model, flash_attn=flash_attn, use_gpu=False, exact=exact)
    try:
        _native.bench_set_zero_mel(loaded.ctx)
        _native.bench_encode(loaded.ctx, threads)  # warm-up: graph allocation, first touch of the weights
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            _native.bench_encode(loaded.ctx, threads)
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        loaded.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny.en")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--nfa", action="store_true", help="without flash attention")
    args = ap.parse_args()
    for rnd in range(1, args.rounds + 1):
        for exact in (False, True):
            times = encode_ms(args.model, threads=args.threads, runs=args.runs, exact=exact,
                              flash_attn=not args.nfa)
            label = "--exact" if exact else "default"
            print(f"round {rnd} {label:8} encode ms per window: median {statistics.median(times):.0f} "
                  f"(min {min(times):.0f}, max {max(times):.0f}, {len(times)} runs)")


if __name__ == "__main__":
    main()
