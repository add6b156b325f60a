"""Runs that share the cores: N processes with ``-t T`` each where N x T exceeds the cores (goal 5).

    .venv/bin/python benchmarks/oversubscribe.py [--tries 6] [--procs 2] [--threads 2] [--out benchmarks/OVERSUBSCRIBE.md]

For each configuration: the same work run one after the other (N processes in turn) and
run at once (N processes started together), ``--tries`` times each, interleaved.  The
ratio "at once / in turn" must stay near 1 or below on **every** try, not on average:
ggml's OpenMP threads that spin while the core they wait for is taken made some tries
take many times longer.  Configurations: whisper-cli (same pinned source), whispercli
with libwhisper's OpenMP defaults (``GOMP_SPINCOUNT=300000``, what whispercli did before),
and whispercli as shipped (a bounded spin).  Input: jfk.wav, tiny.en, beam 5.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402


def configs(whisper_cli: Path, whispercli: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    return {
        "whisper-cli": ([str(whisper_cli)], {}),
        "whispercli, libgomp's default spin": ([str(whispercli), "transcribe"], {"GOMP_SPINCOUNT": "300000"}),
        "whispercli (bounded spin)": ([str(whispercli), "transcribe"], {}),
    }


def timed(cmds: list[list[str]], env: dict[str, str], together: bool) -> float:
    t0 = time.monotonic()
    if together:
        procs = [subprocess.Popen(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for c in cmds]
        codes = [p.wait() for p in procs]
    else:
        codes = [subprocess.run(c, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
                 for c in cmds]
    if any(codes):
        raise SystemExit(f"oversubscribe: a run failed: {cmds[0]} (exit {codes})")
    return time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tries", type=int, default=6)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--model", type=Path, default=Path.home() / ".cache/whispercli/models/ggml-tiny.en.bin")
    ap.add_argument("--out", type=Path, default=HERE / "OVERSUBSCRIBE.md")
    args = ap.parse_args(argv)
    whisper_cli = bench.build_whisper_cli() / "whisper-cli"
    whispercli = Path(sys.executable).with_name("whispercli")
    rows = {}
    with tempfile.TemporaryDirectory(prefix="oversub-") as tmp:
        cfgs = configs(whisper_cli, whispercli)
        for name in cfgs:
            rows[name] = ([], [])
        for t in range(args.tries):
            for name, (prefix, extra_env) in cfgs.items():
                env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
                env.update(extra_env)
                cmds = [[*prefix, "-m", str(args.model), "-f", str(bench.JFK_WAV), "-t", str(args.threads), "-np",
                         "-otxt", "-of", f"{tmp}/{t}-{i}"] for i in range(args.procs)]
                rows[name][0].append(timed(cmds, env, together=False))
                rows[name][1].append(timed(cmds, env, together=True))
                bench.log(f"try {t + 1}: {name}: in turn {rows[name][0][-1]:.2f} s, at once {rows[name][1][-1]:.2f} s")
    cores = len(os.sched_getaffinity(0))
    lines = [
        "# Runs sharing the cores",
        "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
        f"`.venv/bin/python benchmarks/oversubscribe.py --tries {args.tries} --procs {args.procs} "
        f"--threads {args.threads}` on {cores} cores: {args.procs} processes × `-t {args.threads}` on jfk.wav "
        f"(tiny.en, beam 5), one after the other vs all at once; each try is both.",
        "",
        "| configuration | in turn s (median) | at once s, every try | worst at once / in turn | goal ≤ 1.2 |",
        "|---|---|---|---|---|",
    ]
    for name, (seq, par) in rows.items():
        worst = max(p / s for s, p in zip(seq, par))
        lines.append(f"| {name} | {statistics.median(seq):.2f} | {' / '.join(f'{p:.1f}' for p in par)} | "
                     f"{worst:.2f} | {'met' if worst <= 1.2 else 'not met'} |")
    lines.append("")
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
