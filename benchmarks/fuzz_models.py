"""Fuzz campaign: mutated model files and audio files against whispercli's loaders.

    python -m benchmarks.fuzz_models --models 10000 --audio 5000 --seed 1 --minutes 50

Mutations hit the structure, not only payload bytes: hyper-parameters, the mel-filter
header, the vocabulary count and token lengths, tensor headers (dimensions, name
length, type, shape), names, truncation at and around every boundary, trailing bytes,
dropped and repeated tensors, plus random bytes in the header region and in tensor
data.  Audio: the containers the decoder accepts (WAV in four sample formats, FLAC,
OGG/Vorbis, Opus, MP3, AIFF, M4A/AAC, WebM), with header fields, truncations, chunk
splices and byte flips; half are decoded from bytes (the stdin path), half from a path.

Each input runs in a worker process (``--worker``): whisper models go through
``Model.load`` (the validator, then libwhisper for what passes), VAD models through
``validate_vad_model`` and, when they pass, a VAD transcription.  A worker that dies
is a crash (its input is kept under ``--keep``), one silent for ``--timeout`` seconds
is a hang, an exception that is not a ``WhisperCliError`` is a traceback.  The summary
(JSON, one line) gives the counts and the workers' peak RSS next to the peak of a
worker loading the unmodified models.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .fuzz_mutations import MutantFile, make_audio_seeds, model_layout, mutate_audio, mutate_model

# --------------------------------------------------------------------------- worker


def worker() -> None:
    """Run jobs from stdin (JSON lines), one result line each on stdout."""
    from whispercli import Model, WhisperCliError
    from whispercli.audio import load_audio
    from whispercli.models.validate import validate_vad_model

    vad_host = None
    out = sys.stdout
    for line in sys.stdin:
        job = json.loads(line)
        kind, path = job["kind"], job["path"]
        try:
            if kind == "model":
                Model.load(path, use_gpu=False).close()
            elif kind == "vad":
                validate_vad_model(path)
                if vad_host is None:
                    vad_host = Model.load(job["host"], use_gpu=False)
                import numpy as np

                vad_host.transcribe(np.zeros(16000, dtype=np.float32), vad=True, vad_model_path=path,
                                    n_threads=1, no_context=True)
            else:
                load_audio(Path(path).read_bytes() if job.get("bytes") else path)
            status = "ok"
        except WhisperCliError as exc:
            status = "rejected:" + type(exc).__name__ + ":" + str(exc).splitlines()[0][:200]
        except Exception as exc:  # noqa: BLE001  (a traceback is what the campaign counts)
            status = "traceback:" + type(exc).__name__ + ":" + str(exc)[:200]
        peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open("/proc/self/statm") as fp:  # resident pages now: a leak shows as growth over the run
            rss_kb = int(fp.read().split()[1]) * (resource.getpagesize() // 1024)
        out.write(json.dumps({"status": status, "peak_rss_kb": peak_kb, "rss_kb": rss_kb}) + "\n")
        out.flush()


class Worker:
    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.fuzz_models", "--worker"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     text=True, cwd=Path(__file__).resolve().parents[1])

    def run(self, job: dict) -> dict:
        import selectors

        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        if not sel.select(self.timeout_s):
            self.kill()
            return {"status": "hang"}
        line = self.proc.stdout.readline()
        if not line:
            code = self.proc.wait()
            return {"status": f"crash:{code}"}
        return json.loads(line)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


# --------------------------------------------------------------------------- campaign


@dataclass
class Tally:
    runs: int = 0
    ok: int = 0
    rejected: int = 0
    crashes: int = 0
    hangs: int = 0
    tracebacks: int = 0
    peak_rss_kb: int = 0
    peak_input: str = ""
    last_rss_kb: int = 0  # the worker's resident memory after its last input
    rejected_by: dict = field(default_factory=dict)  # error type -> count (ModelFormatError: the validator)
    examples: list = field(default_factory=list)

    def add(self, result: dict, desc: str, keep: Path | None, src: Path) -> None:
        self.runs += 1
        status = result["status"]
        if result.get("peak_rss_kb", 0) > self.peak_rss_kb:
            self.peak_rss_kb, self.peak_input = result["peak_rss_kb"], desc  # the input that raised the peak
        self.last_rss_kb = result.get("rss_kb", self.last_rss_kb)
        if status == "ok":
            self.ok += 1
            return
        if status.startswith("rejected"):
            self.rejected += 1
            kind = status.split(":", 2)[1]
            self.rejected_by[kind] = self.rejected_by.get(kind, 0) + 1
            return
        if status == "hang":
            self.hangs += 1
        elif status.startswith("crash"):
            self.crashes += 1
        else:
            self.tracebacks += 1
        self.examples.append({"desc": desc, "status": status})
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, keep / f"{len(self.examples):04d}-{src.name}")


def prepare_models(models: list[Path], work: Path) -> list[tuple[str, Path, bool]]:
    """The bases: each given model, tiny.en also in q8_0, base in q4_k (a k-quant) instead of f16."""
    from whispercli.models.quantize import quantize_model

    work.mkdir(parents=True, exist_ok=True)
    bases = []
    for path in models:
        vad = "silero" in path.name
        if path.name != "ggml-base.bin":  # base serves as its k-quant (a smaller file to rewrite)
            bases.append((path.name, path, vad))
        if path.name == "ggml-tiny.en.bin":
            out = work / "ggml-tiny.en-q8_0.bin"
            if not out.exists():
                quantize_model(path, out, "q8_0")
            bases.append((out.name, out, False))
        if path.name == "ggml-base.bin":
            out = work / "ggml-base-q4_k.bin"
            if not out.exists():
                quantize_model(path, out, "q4_k")
            bases.append((out.name, out, False))
    return bases


def campaign(args) -> dict:
    rng = random.Random(args.seed)
    shm = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    work = Path(tempfile.mkdtemp(prefix="whispercli-fuzz-", dir=shm))
    keep = Path(args.keep) if args.keep else None
    deadline = time.monotonic() + 60 * args.minutes
    tallies = {"models": Tally(), "audio": Tally(), "baseline": Tally()}
    host = next((m for m in args.model if "silero" not in m.name), None)
    try:
        bases = prepare_models(args.model, Path(args.bases_dir) if getattr(args, "bases_dir", None) else work)
        loaded = [(name, path.read_bytes(), vad) for name, path, vad in bases]
        layouts = {name: model_layout(data, vad) for name, data, vad in loaded}
        files = {name: MutantFile(work / f"mutant-{name}", data) for name, data, _vad in loaded}
        w = Worker(args.timeout)
        # The unmodified models, the VAD model first (its job keeps a host model loaded, as the
        # campaign's worker does): the memory real loads need.
        for name, path, vad in sorted(bases, key=lambda base: not base[2]):
            tallies["baseline"].add(w.run({"kind": "vad" if vad else "model", "path": str(path), "host": str(host)}),
                                    name, None, path)
        w.close()
        seeds = make_audio_seeds(Path(args.audio_source), work / "seeds") if args.audio else {}
        jobs = ["model"] * args.models + ["audio"] * args.audio
        rng.shuffle(jobs)
        w = Worker(args.timeout)
        for i, what in enumerate(jobs):
            if time.monotonic() > deadline:
                break
            if what == "model":
                name, data, vad = loaded[i % len(loaded)]
                mutant = mutate_model(data, layouts[name], rng)
                path = files[name].apply(mutant)
                job = {"kind": "vad" if vad else "model", "path": str(path), "host": str(host)}
                tally, desc = tallies["models"], f"{name}:{mutant.desc}"
            else:
                suffix = rng.choice(sorted(seeds))
                desc, blob = mutate_audio(seeds[suffix], rng)
                path = work / f"mutant.{suffix}"
                path.write_bytes(blob)
                job = {"kind": "audio", "path": str(path), "bytes": rng.random() < 0.5}
                tally = tallies["audio"]
                desc = f"{suffix}:{desc}"
            result = w.run(job)
            tally.add(result, desc, keep, path)
            if what == "model":
                files[name].undo(mutant)
            if result["status"] == "hang" or result["status"].startswith("crash"):
                w = Worker(args.timeout)
        w.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"seed": args.seed, **{k: vars(t) for k, t in tallies.items()}}


def summarize(paths: list[str]) -> str:
    """One markdown table over several runs' JSON summaries (``--summarize``)."""
    totals: dict[str, dict] = {}
    seeds = []
    for path in paths:
        run = json.loads(Path(path).read_text())
        seeds.append(run["seed"])
        for kind in ("models", "audio", "baseline"):
            t = totals.setdefault(kind, {"runs": 0, "ok": 0, "rejected": 0, "crashes": 0, "hangs": 0,
                                         "tracebacks": 0, "peak_rss_kb": 0})
            for key in t:
                value = run[kind][key]
                t[key] = max(t[key], value) if key == "peak_rss_kb" else t[key] + value
    lines = [f"seeds: {', '.join(map(str, seeds))}", "",
             "| inputs | runs | loaded/decoded | rejected (one error line) | crashes | hangs | tracebacks | peak RSS |",
             "|---|---|---|---|---|---|---|---|"]
    for kind in ("models", "audio", "baseline"):
        t = totals[kind]
        lines.append(f"| {kind} | {t['runs']} | {t['ok']} | {t['rejected']} | {t['crashes']} | {t['hangs']} | "
                     f"{t['tracebacks']} | {t['peak_rss_kb'] / 1024:.0f} MiB |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parents[1]
    cache = Path.home() / ".cache" / "whispercli" / "models"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--models", type=int, default=200, help="mutated model files to try")
    ap.add_argument("--audio", type=int, default=100, help="mutated audio files to try")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=10.0, help="stop after this long, whatever the counts")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds without an answer = a hang")
    ap.add_argument("--model", type=Path, action="append",
                    help="a base model (repeatable); default: tiny.en, base and the Silero VAD model in the cache")
    ap.add_argument("--audio-source", default=str(root / "whisper.cpp" / "samples" / "jfk.wav"))
    ap.add_argument("--bases-dir", help="keep the quantized bases here between runs (default: made per run)")
    ap.add_argument("--keep", help="copy every input that crashed, hung or raised a traceback here")
    ap.add_argument("--summarize", nargs="+", metavar="JSON", help="print one table over these runs' summaries")
    args = ap.parse_args(argv)
    if args.summarize:
        print(summarize(args.summarize))
        return 0
    if args.worker:
        worker()
        return 0
    if not args.model:
        args.model = [p for p in (cache / "ggml-tiny.en.bin", cache / "ggml-base.bin", cache / "ggml-silero-v6.2.0.bin")
                      if p.is_file()]
    summary = campaign(args)
    print(json.dumps(summary))
    bad = sum(summary[k]["crashes"] + summary[k]["hangs"] + summary[k]["tracebacks"] for k in ("models", "audio"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
