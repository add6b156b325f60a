"""``-w 1`` / ``-w 2``: libwhisper's memcpy and ggml mul_mat benchmarks, their text parsed."""

from __future__ import annotations

import re

from .checks import check_positive
from .records import MemcpyRow, MulMatCell, TextBench

_MEMCPY_LINE = re.compile(r"^memcpy:\s*(?P<gbs>[-\d.]+) GB/s \((?P<label>[^)]*)\)$")
_MULMAT_LINE = re.compile(r"^\s*(?P<n>\d+) x\s*\d+: (?P<cells>.*)$")
_MULMAT_CELL = re.compile(r"(?P<type>\w+)\s+(?P<gflops>[-\d.]+) GFLOPS \(\s*(?P<runs>\d+) runs\)")


def parse_memcpy(text: str) -> tuple[MemcpyRow, ...]:
    rows = []
    for line in text.splitlines():
        m = _MEMCPY_LINE.match(line.strip())
        if m:
            label = " ".join(m.group("label").split())
            th = re.match(r"(\d+) thread", label)
            rows.append(MemcpyRow(label, int(th.group(1)) if th else None, float(m.group("gbs"))))
    return tuple(rows)


def parse_mul_mat(text: str) -> tuple[MulMatCell, ...]:
    cells = []
    for line in text.splitlines():
        m = _MULMAT_LINE.match(line)
        if m:
            for c in _MULMAT_CELL.finditer(m.group("cells")):
                cells.append(MulMatCell(int(m.group("n")), c.group("type"), float(c.group("gflops")),
                                        int(c.group("runs"))))
    return tuple(cells)


def bench_memcpy(threads: int = 4) -> TextBench:
    """``-w 1``: memcpy bandwidth, 1..threads threads (about 20 s: 1 GB buffers)."""
    from .. import _native

    check_positive("threads", threads)
    text = _native.bench_memcpy_text(threads)
    return TextBench(1, threads, text, parse_memcpy(text))


def bench_mul_mat(threads: int = 4) -> TextBench:
    """``-w 2``: ggml mul_mat GFLOPS for 64..4096 square matrices and 7 types (a minute or more)."""
    from .. import _native

    check_positive("threads", threads)
    text = _native.bench_mul_mat_text(threads)
    return TextBench(2, threads, text, parse_mul_mat(text))
