"""Audio input: any file or stream -> float32 samples at 16 kHz.

libsndfile (through soundfile) reads WAV/FLAC/OGG/MP3/AIFF directly; anything
else goes through ffmpeg (through pydub).  Resampling uses soxr's high-quality
filter rather than linear interpolation.
"""

from __future__ import annotations

import io
import os
import struct
import sys
from pathlib import Path

import numpy as np

from .constants import SAMPLE_RATE
from .errors import AudioError

#: Sample rates accepted from a file's header (telephony's 8 kHz is the lowest in common use).
MIN_RATE_HZ, MAX_RATE_HZ = 1000, 1_536_000
MAX_CHANNELS = 1024  # libsndfile's own limit


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

    chunks = []
    try:
        with sf.SoundFile(path if data is None else io.BytesIO(data)) as f:
            channels, rate = f.channels, f.samplerate
            if not 1 <= channels <= MAX_CHANNELS:
                return None
            # Read what the file holds, in blocks of ~1M values: a damaged header can claim
            # trillions of frames, and one read of f.frames would allocate them all.
            block = max(1, (1 << 20) // channels)
            while True:
                chunk = f.read(block, dtype="float32", always_2d=True)
                if not len(chunk):
                    break
                chunks.append(chunk)
    except (sf.LibsndfileError, RuntimeError, TypeError, ValueError):
        return None
    samples = np.concatenate(chunks) if chunks else np.zeros((0, channels), dtype=np.float32)
    return samples, rate


def _decode_ffmpeg(data: bytes | None, path: str) -> tuple[np.ndarray, int]:
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    undecodable = AudioError(f"cannot decode audio: {path!r} is not a recognised audio or video file")
    try:
        seg = AudioSegment.from_file(io.BytesIO(data) if data is not None else path)
        width, channels, rate, raw_bytes = seg.sample_width, seg.channels, seg.frame_rate, seg.raw_data
    except FileNotFoundError:
        raise AudioError(f"cannot decode {path!r}: ffmpeg is not installed (apt-get install ffmpeg)") from None
    except CouldntDecodeError:
        raise undecodable from None
    except OSError as exc:
        raise AudioError(f"cannot read {path!r}: {exc}") from None
    except (ValueError, KeyError, IndexError, TypeError, ArithmeticError, EOFError, struct.error, AttributeError):
        # pydub parses ffmpeg's WAV output itself: a header with a garbage sample width,
        # channel count or size fails inside it with whatever its arithmetic hits first.
        raise undecodable from None
    dtype = {1: np.uint8, 2: np.int16, 4: np.int32}.get(width)
    if dtype is None or channels < 1 or len(raw_bytes) % (width * channels):
        raise undecodable
    raw = np.frombuffer(raw_bytes, dtype=dtype)
    if width == 1:
        samples = (raw.astype(np.float32) - 128.0) / 128.0
    else:
        samples = raw.astype(np.float32) / float(1 << (8 * width - 1))
    return samples.reshape(-1, channels), rate


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
    if not MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
        # Resampling multiplies the samples by 16000 / rate: a header claiming 1 Hz would
        # ask for thousands of times the memory the file holds.
        raise AudioError(f"cannot decode audio: {name!r} claims a sample rate of {rate} Hz "
                         f"(supported: {MIN_RATE_HZ} to {MAX_RATE_HZ})")
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
