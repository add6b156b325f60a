"""One faster-whisper transcription in its own process, so run.py can time it like a CLI.

    python benchmarks/fw_transcribe.py CT2_DIR AUDIO OUT.txt [--compute-type int8] [--threads 2]

The wall time run.py measures includes interpreter start-up, imports and model load,
as it does for whisper-cli and whispercli.  Decoding mirrors whisper-cli's defaults:
beam 5, best-of 5, English, previous text as prompt, no VAD.  One segment per line.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("audio")
    parser.add_argument("out")
    parser.add_argument("--compute-type", default="int8")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--beam-size", type=int, default=5)
    parser.add_argument("--best-of", type=int, default=5)
    args = parser.parse_args(argv)

    from faster_whisper import WhisperModel

    model = WhisperModel(args.model_dir, device="cpu", compute_type=args.compute_type, cpu_threads=args.threads)
    segments, _info = model.transcribe(
        args.audio, beam_size=args.beam_size, best_of=args.best_of, language="en",
        condition_on_previous_text=True, vad_filter=False,
    )
    with open(args.out, "w", encoding="utf-8") as fp:
        for segment in segments:  # a generator: decoding happens here
            fp.write(segment.text.strip() + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
