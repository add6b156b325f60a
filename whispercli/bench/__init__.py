"""Benchmarks: whisper.cpp's ``whisper-bench`` measurements, plus real transcriptions.

Nothing here prints.  Every function returns frozen records; progress, when wanted,
goes to an ``on_progress`` callback (:class:`BenchProgress`).

Three kinds of measurement:

``what=0`` (:func:`bench_whisper`)
    ``whisper_bench_full`` of ``examples/bench/bench.cpp`` step for step: a context
    with its default state, the mel set to zeros, two warm-up rounds (encode, a
    256-token prompt, 256 single-token decodes, a 5-token batch), reset timings, then
    the measured run: 1 encode, 256 single-token decodes, 64 five-token batched
    decodes and 16 prompt decodes of 256 tokens.  The figures are libwhisper's
    **per-run** milliseconds (``whisper_get_timings``) where libwhisper counts a
    run per token: encode 1 run, decode 256, batchd 320, prompt 4096 -- the
    numbers whisper-bench prints as "ms per run" and bench-all.sh puts in its
    Enc./Dec./Bch5/PP columns.
``what=1`` / ``what=2`` (:func:`bench_memcpy`, :func:`bench_mul_mat`)
    libwhisper's own memcpy and ggml mul_mat benchmarks; the text is whisper-bench's
    output byte for byte, with the figures parsed out.
``audio=`` (:func:`bench_audio`)
    Real ``whisper_full`` transcriptions of an audio file with whisper-cli's
    parameters (beam search, beam size 5).  Per phase it reports libwhisper's run
    count, per-run milliseconds and **total** milliseconds (per-run x runs), plus
    the mel time (a total), the wall-clock time of the whole call and the real-time
    factor (wall-clock / audio duration).

One concern per module: :mod:`.records` (the result records), :mod:`.host` (the
machine and the build), :mod:`.timings` (reading libwhisper's timings),
:mod:`.kernels` (``-w 1``/``-w 2``), :mod:`.checks` (argument checks) and
:mod:`.runs` (running the measurements).  Real transcriptions take their
``FullParams`` from :func:`whispercli.options.to_full_params`, the one mapping
from whisper-cli's options.

``repeat`` > 1 repeats the measured part (not the model load or the warm-up) and
every figure becomes a :class:`Stat`: median, min, max, standard deviation.
"""

from __future__ import annotations

from .checks import check_what, parse_threads
from .host import bench_config, parse_system_info, system_info
from .kernels import bench_memcpy, bench_mul_mat, parse_memcpy, parse_mul_mat
from .records import *  # noqa: F403 - the records are the package's API (records.__all__)
from .records import __all__ as _records_all
from .runs import bench_audio, bench_whisper, model_display_name, run
from .timings import RunTimings, parse_timings, read_timings

__all__ = [
    *_records_all, "RunTimings",
    "bench_audio", "bench_config", "bench_memcpy", "bench_mul_mat", "bench_whisper", "check_what",
    "model_display_name", "parse_memcpy", "parse_mul_mat", "parse_system_info", "parse_threads", "parse_timings",
    "read_timings", "run", "system_info",
]
