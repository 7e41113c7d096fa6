"""Probe `banner`: connect to each `banners:` entry and read the first line the service sends.

The family's inventory section lives here too: its schema in holdtime's Field language, its
typed config (:class:`Banner`) and the builder, so holdtime validates `banners:` with the same
``file:line:col`` messages and did-you-mean hints as its own sections.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from holdtime.errors import ConnectError
from holdtime.inventory import Inventory
from holdtime.plugins import Target
from holdtime.sections import BuildContext, Section, seconds
from holdtime.yaml_schema import Field


@dataclass(frozen=True, slots=True)
class Banner:
    """A TCP service whose greeting line must contain `expect_contains`."""

    name: str
    host: str
    port: int
    expect_contains: str
    timeout_seconds: float = 3.0


@dataclass(frozen=True, slots=True)
class BannerObservation:
    """The first line the service sent, and how long it took."""

    line: str
    latency_seconds: float


def build_banner(raw: Mapping[str, Any], where: str, context: BuildContext) -> Banner | None:
    """One `banners:` entry (None when a required key is missing: already reported)."""
    if None in (raw.get("name"), raw.get("host"), raw.get("port"), raw.get("expect_contains")):
        return None
    return Banner(
        name=raw["name"],
        host=raw["host"],
        port=raw["port"],
        expect_contains=raw["expect_contains"],
        timeout_seconds=raw.get("timeout_seconds", 3.0),
    )


BANNERS = Section(
    name="banners",
    item=Field(
        "map",
        fields={
            "name": Field("name", required=True),
            "host": Field("host", required=True),
            "port": Field("port", required=True),
            "expect_contains": Field("str", required=True),
            "timeout_seconds": seconds(0.1, 60),
        },
    ),
    build=build_banner,
)


class BannerProbe:
    """Probe plugin `banner`: one target per `banners:` entry."""

    name = "banner"
    section = BANNERS

    def targets(self, inventory: Inventory) -> Sequence[Target[Banner]]:
        """One Target per entry, named `name/host:port`."""
        return [
            Target(
                name=f"{entry.name}/{entry.host}:{entry.port}",
                device=entry.name,
                config=entry,
                timeout_seconds=entry.timeout_seconds + 1.0,
            )
            for entry in inventory.of(Banner)
        ]

    def collect(self, target: Target[Banner], timeout_seconds: float) -> BannerObservation:
        """Connect, read up to the first newline, close."""
        entry = target.config
        began = time.monotonic()
        try:
            with socket.create_connection((entry.host, entry.port), entry.timeout_seconds) as sock:
                sock.settimeout(entry.timeout_seconds)
                data = b""
                while b"\n" not in data and len(data) < 4096:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    data += chunk
        except OSError as exc:
            raise ConnectError(f"{target.name}: {exc.strerror or exc}") from exc
        line = data.split(b"\n", 1)[0].decode("utf-8", "replace").rstrip("\r")
        return BannerObservation(line=line, latency_seconds=time.monotonic() - began)
