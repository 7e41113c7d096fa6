"""The `ldaps_paths:` section: drill paths that are LDAPS handshakes ("dc2 every 0.5 s").

The drills' own section, like `dns_paths:` (no check probe reads it), so the inventory loader
lists it next to DNS_PATHS (`holdtime.inventory.registered_sections`). A path names an `ldaps:`
controller (its host, port, server_name, CA file and netns are the path's), or gives an address
and the CA file itself::

    ldaps_paths:
      - name: dc2-ldaps
        controller: dc2               # an `ldaps:` entry
        interval_seconds: 0.5
        timeout_seconds: 1            # a handshake not verified by then is lost
        netns: holdtime-app           # optional: default the controller's
      - name: dc3-ldaps
        address: 10.20.0.12
        port: 636                     # default
        server_name: dc3.lab.example  # the name the certificate must carry (default: address)
        ca_file: lab-ca.pem           # required with an address
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from holdtime.probes.ldaps_config import LdapsController
from holdtime.probes.ldaps_prober import LdapsPath, LdapsProber
from holdtime.probes.ping import ProgressCallback
from holdtime.probes.tls_config import ca_file
from holdtime.sections import BuildContext, Section, seconds
from holdtime.suggestions import did_you_mean, listing
from holdtime.yaml_schema import Field

if TYPE_CHECKING:
    from holdtime.inventory import Inventory


@dataclass(frozen=True, slots=True)
class LdapsPathConfig:
    """A drill path measured by LDAPS handshakes to one directory controller."""

    name: str
    controller: str = ""  # an `ldaps:` entry's name; "" when the address is given
    address: str = ""
    port: int = 636
    server_name: str = ""  # "" = the address
    ca_file: Path | None = None
    interval_seconds: float = 0.5
    timeout_seconds: float = 1.0
    netns: str | None = None

    def resolved(self, inventory: Inventory) -> LdapsPathConfig:
        """The path with its controller's address, port, name, CA file (and netns) filled in."""
        if not self.controller:
            return self
        entry = inventory.named(LdapsController, self.controller)
        return replace(
            self,
            address=entry.host,
            port=entry.port,
            server_name=entry.verify_name,
            ca_file=entry.ca_file,
            netns=self.netns or entry.netns,
        )

    @property
    def target(self) -> str:
        """`dc2 (10.20.0.11:636)`: what a dry run and the reports name."""
        where = f"{self.address}:{self.port}" if self.address else f"port {self.port}"
        return f"{self.controller} ({where})" if self.controller else where

    def prober(self, progress: ProgressCallback | None = None) -> LdapsProber:
        """The prober a drill runs for this (resolved) path."""
        path = LdapsPath(
            self.address,
            self.port,
            server_name=self.server_name or self.address,
            ca_file=str(self.ca_file) if self.ca_file else "",
            netns=self.netns,
            name=self.name,
        )
        return LdapsProber(
            [path],
            self.interval_seconds,
            late_after_seconds=self.timeout_seconds,
            progress=progress,
        )


_DEFAULT = LdapsPathConfig(name="")

LDAPS_PATH_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "controller": Field("name"),
        "address": Field("host"),
        "port": Field("port"),
        "server_name": Field("host"),
        "ca_file": Field("str"),
        "interval_seconds": seconds(0.01, 60),
        "timeout_seconds": seconds(0.05, 60),
        "netns": Field("name"),
    },
)


def build_ldaps_path(
    raw: Mapping[str, Any], where: str, context: BuildContext
) -> LdapsPathConfig | None:
    """One `ldaps_paths:` entry (None without a name: already reported).

    An entry with a problem is still built (the problem fails the load): a drill naming it then
    gets no second, misleading "no such path" line.
    """
    if raw.get("name") is None:
        return None
    controller, address = raw.get("controller"), raw.get("address")
    if (controller is None) == (address is None):
        context.problem(
            where,
            "name an `ldaps:` controller (controller: dc1) or give address and ca_file, not both",
        )
    elif controller is not None:
        _check_controller(raw, where, context)
    elif "ca_file" not in raw:
        context.problem(
            f"{where}.ca_file",
            "missing: an LDAPS path by address needs the CA file its certificate must chain to",
        )
    return LdapsPathConfig(
        name=raw["name"],
        controller=controller or "",
        address=str(address or ""),
        port=raw.get("port", _DEFAULT.port),
        server_name=raw.get("server_name") or "",
        ca_file=ca_file(raw, where, context) if controller is None else None,
        interval_seconds=raw.get("interval_seconds", _DEFAULT.interval_seconds),
        timeout_seconds=raw.get("timeout_seconds", _DEFAULT.timeout_seconds),
        netns=raw.get("netns"),
    )


def _check_controller(raw: Mapping[str, Any], where: str, context: BuildContext) -> None:
    """The controller must be an `ldaps:` entry, and the keys it provides are its own."""
    controller = raw["controller"]
    known = context.names("ldaps")
    if controller not in known:
        hint = did_you_mean(controller, sorted(known))
        listed = listing(known)
        context.problem(
            f"{where}.controller",
            f"no ldaps controller named {controller!r}{hint}; the ldaps: section has {listed}",
        )
    for key in ("port", "server_name", "ca_file"):
        if key in raw:
            context.problem(
                f"{where}.{key}",
                f"comes from ldaps controller {controller!r}: set it there, or give an "
                "address instead of the controller",
            )


LDAPS_PATHS = Section(
    name="ldaps_paths",
    item=LDAPS_PATH_FIELD,
    build=build_ldaps_path,
    label="ldaps paths",
    order=46,
)
