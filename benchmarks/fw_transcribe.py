"""faster-whisper transcriptions in their own process, so run.py can time them like a CLI.

    python benchmarks/fw_transcribe.py CT2_DIR AUDIO OUT.txt [--compute-type int8] [--threads 2]
    python benchmarks/fw_transcribe.py CT2_DIR --out-dir DIR [--jobs N] [--threads T] AUDIO...

The wall time run.py measures includes interpreter start-up, imports and model load,
as it does for whisper-cli and whispercli.  Decoding mirrors whisper-cli's defaults:
beam 5, best-of 5, English, previous text as prompt, no VAD.  One segment per line.
With ``--out-dir`` every AUDIO is transcribed into DIR/NAME.txt by ``--jobs`` worker
processes (each loads the model once, ``--threads`` threads each; faster-whisper's own
way to use several cores for many files), each taking the next input when it is free.
"""

from __future__ import annotations

import argparse
import multiprocessing
from pathlib import Path

_MODEL = None
_ARGS = None


def _load(args: argparse.Namespace) -> None:
    global _MODEL, _ARGS
    from faster_whisper import WhisperModel

    _ARGS = args
    _MODEL = WhisperModel(args.model_dir, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads)


def _transcribe(job: tuple[str, str]) -> None:
    audio, out = job
    segments, _info = _MODEL.transcribe(
        audio, beam_size=_ARGS.beam_size, best_of=_ARGS.best_of, language="en",
        condition_on_previous_text=True, vad_filter=False,
    )
    with open(out, "w", encoding="utf-8") as fp:
        for segment in segments:  # a generator: decoding happens here
            fp.write(segment.text.strip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("inputs", nargs="+", help="AUDIO OUT.txt, or with --out-dir: AUDIO...")
    parser.add_argument("--out-dir", type=Path)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--best-of", type=int, default=5)
    args = parser.parse_args(argv)
    if args.out_dir is None:
        if len(args.inputs) != 2:
            parser.error("give AUDIO OUT.txt, or --out-dir DIR AUDIO...")
        jobs = [tuple(args.inputs)]
    else:
        jobs = [(a, str(args.out_dir / (Path(a).name + ".txt"))) for a in args.inputs]
    if args.jobs <= 1:
        _load(args)
        for job in jobs:
            _transcribe(job)
        return 0
    with multiprocessing.get_context("spawn").Pool(args.jobs, initializer=_load, initargs=(args,)) as pool:
        list(pool.imap(_transcribe, jobs, chunksize=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
