"""Accuracy of the default engine (tiled sgemm, patch 0007) against ``--exact``: the engine issue's goal 4.

    .venv/bin/python benchmarks/accuracy.py [--model PATH] [--threads 2] [--out benchmarks/ACCURACY.md]

The corpus: ``long_text.txt`` spoken six times by espeak-ng, each file a different voice
rotation (six voices, one per paragraph) and speaking rate, so every file has several
speakers; about 33 minutes in all, deterministic (same text, voices, rates and espeak-ng
version give the same audio; cached in ``benchmarks/.cache/accuracy/``).  Each
configuration transcribes every file in one ``whispercli transcribe`` process with
whisper-cli's defaults; WER after Whisper's English normalizer (the ``bench`` extra).

The default may be the default only if its WER over the corpus is within 0.3 points of
``--exact``'s and no file is more than 2 points worse; the report says whether it is.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import run as bench  # noqa: E402  (the speech helpers and the WER of benchmarks/run.py)

RATES_WPM = (150, 175, 140, 185, 160, 165)  # one per file
CORPUS_MIN_S = 30 * 60
TOTAL_BOUND_POINTS = 0.3  # goal 4: corpus WER within this of --exact's
FILE_BOUND_POINTS = 2.0  # and no file worse than this
CONFIGS = {"default": [], "--exact": ["--exact"]}


def make_corpus(cache: Path) -> list[tuple[Path, str]]:
    """The six files and the words spoken in each."""
    paras = bench.paragraphs(bench.LONG_TEXT.read_text(encoding="utf-8"))
    reference = " ".join(paras)
    espeak = bench.tool_version(["espeak-ng", "--version"])
    files = []
    for i, rate in enumerate(RATES_WPM):
        voices = [bench.VOICES[(i + j) % len(bench.VOICES)] for j in range(len(paras))]
        key = hashlib.sha1("\0".join([espeak, str(rate), *voices, *paras]).encode()).hexdigest()[:12]
        out = cache / f"corpus{i + 1}-{key}.wav"
        if not out.is_file():
            bench.log(f"speaking {out.name} ({rate} wpm)")
            out.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(prefix="speech-", dir=out.parent) as tmp:
                parts = []
                for j, (para, voice) in enumerate(zip(paras, voices)):
                    part = Path(tmp) / f"{j:02d}.wav"
                    bench.run_checked(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(part), para],
                                      f"espeak-ng -v {voice}")
                    parts.append(part)
                joined = Path(tmp) / "joined.wav"
                bench.concat_wavs(parts, joined, bench.GAP_S)
                bench.to_16k_mono(joined, out)
        files.append((out, reference))
    total_s = sum(bench.wav_duration(f) for f, _ in files)
    if total_s < CORPUS_MIN_S:
        raise SystemExit(f"accuracy: the corpus lasts {total_s / 60:.1f} min, under 30")
    return files


def transcribe_all(whispercli: Path, model: Path, files: list[Path], extra: list[str], threads: int,
                   out_dir: Path) -> tuple[float, dict[Path, str]]:
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = [str(whispercli), "transcribe", "-m", str(model), "-t", str(threads), "-otxt", "-np",
            "-od", str(out_dir), *extra, *map(str, files)]
    t0 = time.monotonic()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    return wall, {f: (out_dir / (f.name + ".txt")).read_text(encoding="utf-8") for f in files}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=Path.home() / ".cache/whispercli/models/ggml-tiny.en.bin")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=HERE / "ACCURACY.md")
    args = ap.parse_args(argv)
    whispercli = Path(sys.executable).with_name("whispercli")
    corpus = make_corpus(bench.CACHE / "accuracy")
    files = [f for f, _ in corpus]
    minutes = sum(bench.wav_duration(f) for f in files) / 60
    wer: dict[str, dict[Path, float]] = {}
    walls: dict[str, float] = {}
    words: dict[str, dict[Path, str]] = {}
    with tempfile.TemporaryDirectory(prefix="accuracy-") as tmp:
        for name, extra in CONFIGS.items():
            bench.log(f"transcribing {len(files)} files ({minutes:.1f} min) with {name}")
            walls[name], texts = transcribe_all(whispercli, args.model, files, extra, args.threads, Path(tmp) / name)
            words[name] = texts
            wer[name] = {f: bench.wer_percent(ref, texts[f]) for f, ref in corpus}
    if any(v is None for d in wer.values() for v in d.values()):
        raise SystemExit("accuracy: WER needs the bench extra (pip install -e '.[bench]')")

    import jiwer
    from whisper_normalizer.english import EnglishTextNormalizer

    norm = EnglishTextNormalizer()
    refs = [norm(ref) for _, ref in corpus]
    total = {name: 100 * jiwer.wer(refs, [norm(words[name][f]) for f in files]) for name in CONFIGS}
    worst = max(wer["default"][f] - wer["--exact"][f] for f in files)
    same = sum(words["default"][f] == words["--exact"][f] for f in files)
    ok = total["default"] - total["--exact"] <= TOTAL_BOUND_POINTS and worst <= FILE_BOUND_POINTS
    lines = [
        "# Accuracy: the default engine against --exact",
        "",
        f"Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC by "
        f"`.venv/bin/python benchmarks/accuracy.py --threads {args.threads}`; model `{args.model.name}`, "
        f"whisper-cli's default decoding (beam 5).",
        "",
        f"Corpus: `long_text.txt` spoken 6 times by espeak-ng, voices {', '.join(bench.VOICES)} "
        f"rotating per paragraph, rates {', '.join(map(str, RATES_WPM))} wpm: {minutes:.1f} minutes.",
        "",
        "| file | rate wpm | minutes | WER default % | WER --exact % | difference (points) | same text |",
        "|---|---|---|---|---|---|---|",
    ]
    for (f, _), rate in zip(corpus, RATES_WPM):
        d, e = wer["default"][f], wer["--exact"][f]
        lines.append(f"| {f.name} | {rate} | {bench.wav_duration(f) / 60:.1f} | {d:.2f} | {e:.2f} | {d - e:+.2f} | "
                     f"{'yes' if words['default'][f] == words['--exact'][f] else 'no'} |")
    lines += [
        f"| **corpus** | | {minutes:.1f} | **{total['default']:.2f}** | **{total['--exact']:.2f}** | "
        f"**{total['default'] - total['--exact']:+.2f}** | {same}/{len(files)} |",
        "",
        f"Wall time for the whole corpus in one process: default {walls['default']:.1f} s, "
        f"--exact {walls['--exact']:.1f} s (one run each, relative only).",
        "",
        f"Goal 4 (corpus within {TOTAL_BOUND_POINTS} points of --exact, no file more than {FILE_BOUND_POINTS} "
        f"points worse; worst file {worst:+.2f}): **{'met' if ok else 'NOT met'}**.",
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
