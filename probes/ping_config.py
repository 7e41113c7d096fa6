"""The `ping_paths:` section of the inventory: paths whose outage a drill measures by ping."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PingSource:
    """Where pings start: this host (`local`), a network namespace, or a router over SSH."""

    kind: str  # local | netns | router
    netns: str | None = None
    router: str | None = None
    address: str | None = None  # source address: bound locally, or `ping -I` on a router


@dataclass(frozen=True, slots=True)
class PingPath:
    """A path whose outage is measured by ping."""

    name: str
    source: PingSource
    destination: str
    interval_seconds: float = 1.0
    count: int | None = None  # a drill stops probing this path after that many probes
    duration_seconds: float | None = None  # ... or after this long; None: as long as the drill
    max_outage_seconds: float | None = None  # the path's own budget, over the drill's
