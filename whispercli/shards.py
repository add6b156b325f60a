"""Shards: N independent runs that together cover every input exactly once.

``--shard I/N`` keeps the I-th of N parts of the expanded input list sorted by name, dealt
round-robin (part sizes differ by at most one, and a part does not depend on the order the
arguments were given in). Nothing is shared between the runs: a Slurm array, GNU parallel or
Kubernetes Jobs start them, and with ``--skip-existing`` a rerun after a crash does only what
is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence, TypeVar

from .errors import UsageError

T = TypeVar("T")
_SPEC = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as Slurm array ids and GNU parallel's {#} usually are
    count: int

    @classmethod
    def parse(cls, spec: str) -> "Shard":
        match = _SPEC.fullmatch(spec)
        if not match:
            raise UsageError(f"--shard {spec!r}: expected I/N, e.g. 1/4 (the first of four parts)")
        index, count = int(match[1]), int(match[2])
        if count < 1:
            raise UsageError(f"--shard {spec!r}: the number of parts must be at least 1")
        if not 1 <= index <= count:
            raise UsageError(f"--shard {spec!r}: the part number counts from 1 to {count}")
        return cls(index, count)

    def select(self, items: Sequence[T], key=lambda item: item) -> list[T]:
        """This shard's items, in sorted order."""
        ordered = sorted(items, key=key)
        return ordered[self.index - 1::self.count]

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"
