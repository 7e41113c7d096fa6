"""The `tcp:` section of the inventory: host:port endpoints that must accept connections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from holdtime.sections import BuildContext, Section, seconds
from holdtime.yaml_schema import Field


@dataclass(frozen=True, slots=True)
class TcpTarget:
    """A host:port that must accept TCP connections."""

    name: str
    host: str
    port: int
    timeout_seconds: float = 3.0
    netns: str | None = None


_DEFAULT = TcpTarget(name="", host="", port=0)

TCP_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "host": Field("host", required=True),
        "port": Field("port", required=True),
        "timeout_seconds": seconds(0.1, 120),
        "netns": Field("name"),
    },
)


def build_tcp(raw: Mapping[str, Any], where: str, context: BuildContext) -> TcpTarget | None:
    """One `tcp:` entry (None when a required key was missing: already reported)."""
    if None in (raw.get("name"), raw.get("host"), raw.get("port")):
        return None
    default = (context.defaults.get("tcp") or {}).get("timeout_seconds", _DEFAULT.timeout_seconds)
    return TcpTarget(
        name=raw["name"],
        host=raw["host"],
        port=raw["port"],
        timeout_seconds=raw.get("timeout_seconds", default),
        netns=raw.get("netns"),
    )


TCP = Section(
    name="tcp",
    item=TCP_FIELD,
    build=build_tcp,
    label="tcp targets",
    defaults={"tcp": Field("map", fields={"timeout_seconds": seconds(0.1, 120)})},
    order=30,
)
