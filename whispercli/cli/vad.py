"""``whispercli vad``: where the speech is in each input (Silero VAD, as ``--vad`` sees it).

Output (stdout) per input:

* ``--format text`` (default): whisper.cpp's ``whisper-vad-speech-segments`` output,
  byte for byte (its times are libwhisper's centiseconds, printed as ``%.2f``); with
  several inputs each block is preceded by a ``==> FILE <==`` line;
* ``--format csv``: a ``file,start_ms,end_ms`` header, then one row per segment;
* ``--format json``: one JSON object per input and line, times in milliseconds.
"""

from __future__ import annotations

import csv
import io
import json
import os
from typing import List, Optional

import typer

from ..errors import AudioError, WhisperCliError
from ._console import err, out
from .exit_codes import ExitStatus, status_for

FORMATS = ("text", "csv", "json")


def vad(
    inputs: List[str] = typer.Argument(..., metavar="FILE|DIR|GLOB|-...", help="Audio or video inputs; '-' reads stdin."),
    vad_model: str = typer.Option("", "--vad-model", "-vm", show_default=False,
                                  help="Silero VAD model: path or name (default: silero-v6.2.0, from the model "
                                       "cache, downloaded there once when missing)."),
    output_format: str = typer.Option("text", "--format", "-F", help=f"Output: {', '.join(FORMATS)}."),
    threads: int = typer.Option(min(4, os.cpu_count() or 1), "--threads", "-t", help="Compute threads.",
                                show_default="min(4, CPUs)"),
    vad_threshold: float = typer.Option(0.5, "--vad-threshold", "-vt", help="Speech probability threshold."),
    vad_min_speech_duration_ms: int = typer.Option(250, "--vad-min-speech-duration-ms", "-vspd",
                                                   help="Minimum speech duration (ms)."),
    vad_min_silence_duration_ms: int = typer.Option(100, "--vad-min-silence-duration-ms", "-vsd",
                                                    help="Minimum silence duration to split segments (ms)."),
    vad_max_speech_duration_s: float = typer.Option(3.4028234663852886e38, "--vad-max-speech-duration-s", "-vmsd",
                                                    help="Maximum speech duration (s).", show_default=False),
    vad_speech_pad_ms: int = typer.Option(30, "--vad-speech-pad-ms", "-vp", help="Speech padding (ms)."),
    vad_samples_overlap: float = typer.Option(0.1, "--vad-samples-overlap", "-vo",
                                              help="Overlap kept after each segment when joining (s)."),
) -> None:
    """Print the speech segments of each input (like whisper.cpp's whisper-vad-speech-segments)."""
    from ..errors import UsageError
    from ..vad import VadModel, VadOptions
    from ._inputs import expand_inputs

    if output_format not in FORMATS:
        raise UsageError(f"unknown --format {output_format!r} (one of: {', '.join(FORMATS)})")
    options = VadOptions(vad_threshold, vad_min_speech_duration_ms, vad_min_silence_duration_ms,
                         vad_max_speech_duration_s, vad_speech_pad_ms, vad_samples_overlap).check()
    items = expand_inputs(list(inputs))
    failures: list[WhisperCliError] = []
    if output_format == "csv":
        out("file,start_ms,end_ms\n")
    with VadModel.load(vad_model, n_threads=threads) as model:
        for item in items:
            try:
                if item.error:
                    raise AudioError(item.error)
                segments = model.detect(item.name, options)
            except AudioError as exc:
                failures.append(exc)
                err(f"whispercli: error: {exc}")
                continue
            out(_render(output_format, item.name, segments, several=len(items) > 1))
    if failures:
        raise typer.Exit(int(status_for(failures[0]) if len(failures) == len(items) else ExitStatus.PARTIAL))


def _render(fmt: str, name: str, segments, *, several: bool) -> str:
    if fmt == "json":
        return json.dumps({
            "file": name,
            "segments": [{"start_ms": s.start_ms, "end_ms": s.end_ms} for s in segments],
            "speech_ms": sum(s.duration_ms for s in segments),
        }, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerows((name, s.start_ms, s.end_ms) for s in segments)
        return buf.getvalue()
    # whisper-vad-speech-segments prints libwhisper's centiseconds with %.2f
    lines = [f"==> {name} <==\n"] if several else []
    lines.append(f"\nDetected {len(segments)} speech segments:\n")
    lines += [f"Speech segment {i}: start = {s.start_ms / 10:.2f}, end = {s.end_ms / 10:.2f}\n"
              for i, s in enumerate(segments)]
    lines.append("\n")
    return "".join(lines)
