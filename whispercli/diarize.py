"""whisper-cli's ``-di``: which stereo channel is louder during each segment.

A port of ``estimate_diarization_speaker`` (examples/cli/cli.cpp) and
``timestamp_to_sample`` (examples/common-whisper.cpp), including their
arithmetic: segment ticks (10 ms) to sample indices with C integer division,
clamped to ``[0, n_samples - 1]``; the sums of ``|L|`` and ``|R|`` over
``[is0, is1)`` accumulated in order in a C ``double``; a channel wins when its
sum is more than 1.1 times the other's, otherwise the speaker is ``"?"``.

whisper-cli decodes every input as stereo with ``-di`` (a mono file is
duplicated into both channels, so every segment is ``"?"``), and feeds L+R (the
sum, not the mean) to the model.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .constants import SAMPLE_RATE


def timestamp_to_sample(t_ticks: int, n_samples: int, sample_rate: int = SAMPLE_RATE) -> int:
    """``max(0, min(n_samples - 1, (int) ((t * sample_rate) / 100)))`` with C truncating division."""
    num = t_ticks * sample_rate
    q = abs(num) // 100
    index = q if num >= 0 else -q
    return max(0, min(n_samples - 1, index))


def _energy(channel: np.ndarray) -> float:
    """``sum(fabs(x))`` added left to right in double (``np.cumsum`` is sequential; ``np.sum`` is pairwise)."""
    if channel.size == 0:
        return 0.0
    return float(np.cumsum(np.abs(channel), dtype=np.float64)[-1])


def estimate_speaker(stereo: np.ndarray, start_ms: int, end_ms: int) -> str:
    """``"0"`` (left louder), ``"1"`` (right louder) or ``"?"`` for one time span."""
    n_samples = stereo.shape[0]
    is0 = timestamp_to_sample(start_ms // 10, n_samples)
    is1 = timestamp_to_sample(end_ms // 10, n_samples)
    energy0 = _energy(stereo[is0:is1, 0])
    energy1 = _energy(stereo[is0:is1, 1])
    if energy0 > 1.1 * energy1:
        return "0"
    if energy1 > 1.1 * energy0:
        return "1"
    return "?"


def estimate_speakers(stereo: np.ndarray, segments: Iterable) -> tuple[str, ...]:
    """One speaker id per segment (``"0"``/``"1"``/``"?"``) from ``stereo``, shape ``(frames, 2)`` float32 at 16 kHz."""
    stereo = np.asarray(stereo)
    if stereo.ndim != 2 or stereo.shape[1] != 2:
        raise ValueError(f"diarization needs stereo samples of shape (frames, 2), got {stereo.shape}")
    if stereo.shape[0] == 0:
        raise ValueError("diarization needs at least one sample")
    return tuple(estimate_speaker(stereo, seg.start_ms, seg.end_ms) for seg in segments)
