"""Audio input: any file or stream -> float32 samples at 16 kHz.

libsndfile (through soundfile) reads WAV/FLAC/OGG/MP3/AIFF directly; anything
else goes through ffmpeg (through pydub).  Resampling uses soxr's high-quality
filter rather than linear interpolation.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

import numpy as np

from .constants import SAMPLE_RATE
from .errors import AudioError


def _read_source(source) -> tuple[bytes | None, str]:
    """``(bytes or None, display name)``; None means read from the path itself."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "<bytes>"
    if hasattr(source, "read"):
        return source.read(), getattr(source, "name", "<stream>")
    if str(source) == "-":
        return sys.stdin.buffer.read(), "<stdin>"
    path = Path(source)
    if not path.exists():
        raise AudioError(f"input file not found: {str(path)!r}")
    if path.is_dir():
        raise AudioError(f"input is a directory, not an audio file: {str(path)!r}")
    return None, str(path)


def _decode_soundfile(data: bytes | None, path: str) -> tuple[np.ndarray, int] | None:
    import soundfile as sf

    try:
        if data is None:
            samples, rate = sf.read(path, dtype="float32", always_2d=True)
        else:
            samples, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    return samples, rate


def _decode_ffmpeg(data: bytes | None, path: str) -> tuple[np.ndarray, int]:
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    try:
        seg = AudioSegment.from_file(io.BytesIO(data) if data is not None else path)
    except CouldntDecodeError:
        raise AudioError(f"cannot decode audio: {path!r} is not a recognised audio or video file") from None
    except FileNotFoundError:
        raise AudioError(f"cannot decode {path!r}: ffmpeg is not installed (apt-get install ffmpeg)") from None
    except OSError as exc:
        raise AudioError(f"cannot read {path!r}: {exc}") from None
    width = seg.sample_width
    raw = np.frombuffer(seg.raw_data, dtype={1: np.uint8, 2: np.int16, 4: np.int32}[width])
    if width == 1:
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    else:
        samples = raw.astype(np.float32) / float(1 << (8 * width - 1))
    return samples.reshape(-1, seg.channels), seg.frame_rate


def decode(source) -> tuple[np.ndarray, int]:
    """Decode to ``(frames x channels float32, sample rate)`` without resampling."""
    data, name = _read_source(source)
    if data is not None and not data:
        raise AudioError(f"{name} is empty")
    if data is None and os.path.getsize(name) == 0:
        raise AudioError(f"{name!r} is empty")
    decoded = _decode_soundfile(data, name)
    if decoded is None:
        decoded = _decode_ffmpeg(data, name)
    samples, rate = decoded
    if samples.shape[0] == 0:
        raise AudioError(f"{name!r} contains no audio samples")
    if not np.isfinite(samples).all():
        # NaN/Inf would propagate through the mel spectrogram into garbage text.
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return samples, rate


def resample(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    if rate == target:
        return samples
    import soxr

    return soxr.resample(samples, rate, target, quality="HQ").astype(np.float32, copy=False)


def load_audio(source, *, stereo: bool = False) -> np.ndarray:
    """Float32 samples at 16 kHz: mono (1-D), or ``(frames, 2)`` with ``stereo=True``.

    ``source`` is a path, ``"-"`` for stdin, bytes, or a binary file object.
    """
    samples, rate = decode(source)
    if stereo:
        if samples.shape[1] == 1:
            samples = np.repeat(samples, 2, axis=1)
        samples = samples[:, :2]
    else:
        samples = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    return np.ascontiguousarray(resample(samples, rate))
