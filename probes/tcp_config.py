"""The `tcp:` section of the inventory: host:port endpoints that must accept connections."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TcpTarget:
    """A host:port that must accept TCP connections."""

    name: str
    host: str
    port: int
    timeout_seconds: float = 3.0
    netns: str | None = None
