"""The `ping_paths:` section of the inventory: paths whose outage a drill measures by ping.

The drills' own section (no check probe reads it), so the inventory loader lists it itself.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from holdtime.sections import BuildContext, Section, seconds
from holdtime.yaml_schema import NAME_RE, Field


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


_DEFAULT = PingPath(name="", source=PingSource(kind="local"), destination="")

PING_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "source": Field("any"),
        "destination": Field("host", required=True),
        "interval_seconds": seconds(0.01, 60),
        "count": Field("int", low=1, high=10_000_000),
        "duration_seconds": seconds(0.1, 86400),
        "expect": Field("map", fields={"max_outage_seconds": seconds(0, 86400)}),
    },
)


def build_ping_path(raw: Mapping[str, Any], where: str, context: BuildContext) -> PingPath | None:
    """One `ping_paths:` entry; its source may name a router of the `routers:` section."""
    source = build_source(raw.get("source", "local"), f"{where}.source", context)
    if raw.get("count") is not None and raw.get("duration_seconds") is not None:
        context.problem(where, "give count or duration_seconds, not both")
    if not raw.get("name") or not raw.get("destination") or source is None:
        return None
    return PingPath(
        name=raw["name"],
        source=source,
        destination=raw["destination"],
        interval_seconds=raw.get("interval_seconds", _DEFAULT.interval_seconds),
        count=raw.get("count"),
        duration_seconds=raw.get("duration_seconds", _DEFAULT.duration_seconds),
        max_outage_seconds=(raw.get("expect") or {}).get("max_outage_seconds"),
    )


def build_source(raw: object, where: str, context: BuildContext) -> PingSource | None:
    """`local`, `{netns: NAME}` or `{router: NAME}`, optionally with `address: IP`."""
    if raw == "local" or raw is None:
        return PingSource(kind="local")
    address: str | None = None
    if isinstance(raw, dict) and "address" in raw:
        raw = dict(raw)
        address = _address(raw.pop("address"), f"{where}.address", context)
        if address is None:
            return None
        if not raw:
            return PingSource(kind="local", address=address)
    ((kind, name),) = raw.items() if isinstance(raw, dict) and len(raw) == 1 else [("", None)]
    source, where_wrong, wrong = None, where, ""
    if kind == "netns" and isinstance(name, str) and NAME_RE.match(name):
        source = PingSource(kind="netns", netns=name, address=address)
    elif kind == "netns":
        where_wrong, wrong = f"{where}.netns", f"{name!r} is not a valid network namespace name"
    elif kind == "router" and isinstance(name, str) and name in context.names("routers"):
        source = PingSource(kind="router", router=name, address=address)
    elif kind == "router" and isinstance(name, str):
        wrong = f"no router named {name!r} in routers"
    else:
        wrong = "must be local, {netns: NAME} or {router: NAME} (optionally with address: IP)"
    if wrong:
        context.problem(where_wrong, wrong)
    return source


def _address(raw: object, where: str, context: BuildContext) -> str | None:
    try:
        return str(ipaddress.ip_address(str(raw)))
    except ValueError:
        context.problem(where, f"{raw!r} is not an IP address")
        return None


PING_PATHS = Section(
    name="ping_paths", item=PING_FIELD, build=build_ping_path, label="ping paths", order=40
)
