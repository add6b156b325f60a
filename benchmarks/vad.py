"""``--vad`` on a recording with long pauses: wall time, WER and text over silence, with and without.

    .venv/bin/python benchmarks/vad.py [--model tiny.en] [--threads 2] [--runs 2] [--noise-rms 0.002] [--out FILE]

The recording is made here: sentences of ``long_text.txt`` spoken by espeak-ng, separated by
pauses of 4 to 30 s filled with quiet room noise (seeded), so it is the same on every machine.
Runs with and without VAD are interleaved (A B A B ...) so that load from other processes hits
both alike; each figure is the median over the runs.  Needs the models in the model cache
(``whispercli download-model tiny.en silero-v6.2.0``).
"""

from __future__ import annotations

import argparse
import datetime
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from helpers import wer, words  # noqa: E402

PAUSES_S = (4, 12, 30, 6, 20, 8, 25, 5, 15, 10, 30, 7)
NOISE_RMS = 0.002  # about -54 dBFS: a quiet room (--noise-rms 0.01: about -40 dBFS, a noisy one)


def make_recording(folder: Path, noise_rms: float = NOISE_RMS) -> tuple[np.ndarray, str, list[tuple[float, float]]]:
    """(samples, reference text, [(start_s, end_s)] of each pause)."""
    from whispercli import load_audio

    text = (HERE / "long_text.txt").read_text(encoding="utf-8")
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()][:len(PAUSES_S)]
    rng = np.random.default_rng(13)
    parts, pauses, at = [], [], 0
    for i, (sentence, pause_s) in enumerate(zip(sentences, PAUSES_S)):
        wav = folder / f"s{i}.wav"
        subprocess.run(["espeak-ng", "-s", "160", "-w", str(wav), sentence], check=True, capture_output=True)
        noise = (rng.standard_normal(int(pause_s * 16000)) * noise_rms).astype(np.float32)
        pauses.append((at / 16000, (at + len(noise)) / 16000))
        speech = load_audio(wav)
        parts += [noise, speech]
        at += len(noise) + len(speech)
    return np.concatenate(parts), " ".join(sentences), pauses


def over_silence(segments, pauses, margin_s: float = 1.0) -> list[str]:
    """Texts of segments lying wholly inside a pause (shrunk by ``margin_s`` at each end)."""
    found = []
    for seg in segments:
        t0, t1 = seg.start_ms / 1000, seg.end_ms / 1000
        if any(a + margin_s <= t0 and t1 <= b - margin_s for a, b in pauses) and words(seg.text):
            found.append(seg.text.strip())
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--noise-rms", type=float, default=NOISE_RMS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    from whispercli import Model
    from whispercli.job import run_job
    from whispercli.models.registry import resolve_model
    from whispercli.options import TranscribeOptions, validate

    with tempfile.TemporaryDirectory() as tmp:
        samples, reference, pauses = make_recording(Path(tmp), args.noise_rms)
    audio_s = len(samples) / 16000
    silence_s = sum(b - a for a, b in pauses)
    results: dict[bool, list] = {False: [], True: []}
    with Model.load(resolve_model(args.model)) as model:
        for _ in range(args.runs):
            for vad in (False, True):
                options = validate(TranscribeOptions(vad=vad, threads=args.threads))
                t0 = time.perf_counter()
                transcript = run_job(model, samples, options).transcript
                results[vad].append((time.perf_counter() - t0, transcript))
    rows = []
    for vad in (False, True):
        times = [t for t, _ in results[vad]]
        transcript = results[vad][-1][1]
        text = " ".join(seg.text for seg in transcript.segments)
        ghosts = over_silence(transcript.segments, pauses)
        rows.append((vad, statistics.median(times), wer(reference, text), ghosts))
    lines = [
        f"Measured {datetime.date.today()}: `{args.model}`, `-t {args.threads}`, {args.runs} interleaved runs each "
        f"(median wall time), {audio_s:.0f} s of audio of which {silence_s:.0f} s are pauses "
        f"({len(pauses)} pauses of {min(PAUSES_S)}-{max(PAUSES_S)} s, room noise at {args.noise_rms} RMS).",
        "",
        "| | wall time | speed-up | WER | segments over silence | their text |",
        "|---|---|---|---|---|---|",
    ]
    base_time = rows[0][1]
    for vad, median_s, error, ghosts in rows:
        shown = "; ".join(f"`{g}`" for g in ghosts[:4]) + (" …" if len(ghosts) > 4 else "")
        lines.append(f"| {'`--vad`' if vad else 'no VAD'} | {median_s:.1f} s | {base_time / median_s:.2f}x | "
                     f"{error:.1%} | {len(ghosts)} | {shown or '-'} |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        args.out.write_text(args.out.read_text(encoding="utf-8") + "\n" + report if args.out.exists() else report,
                            encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
