"""`--shard I/N`: own a stable hash share of the inventory, split as Prometheus `hashmod` does.

Prometheus' relabel action ``hashmod`` computes ``md5(value)``, takes the last 8 bytes as a
big-endian uint64 and reduces it modulo N (prometheus/model/relabel/relabel.go, ``sum64``). We
hash the device (inventory entry) name, so every probe of one device lands in the same exporter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from holdtime.errors import ConfigError
from holdtime.runner import Job


def hashmod(value: str, modulus: int) -> int:
    """Prometheus `hashmod`: last 8 bytes of md5(value) as big-endian uint64, modulo N."""
    digest = hashlib.md5(value.encode("utf-8"), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % modulus


@dataclass(frozen=True, slots=True)
class Shard:
    """Shard `index` of `count` (0-based, like the hashmod result)."""

    index: int
    count: int

    def owns(self, device: str) -> bool:
        """True when this shard covers the device."""
        return hashmod(device, self.count) == self.index

    def select(self, jobs: Sequence[Job]) -> list[Job]:
        """The jobs whose device belongs to this shard."""
        return [job for job in jobs if self.owns(job.target.device)]


def parse_shard(text: str) -> Shard:
    """Parse `I/N` (0 <= I < N); a bad value is a one-line ConfigError."""
    index_text, slash, count_text = text.partition("/")
    try:
        index, count = int(index_text), int(count_text)
    except ValueError:
        index, count = -1, 0
    if not slash or count < 1 or not 0 <= index < count:
        raise ConfigError(f"--shard {text!r}: expected I/N with 0 <= I < N, e.g. 0/3")
    return Shard(index, count)
