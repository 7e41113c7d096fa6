"""The `dns_paths:` section: drill paths that are DNS queries ("query dc1 for vcenter every 0.2 s").

The drills' own section, like `ping_paths:` (no check probe reads it), so the inventory loader has
to list it next to PING_PATHS (`holdtime.inventory.registered_sections`)::

    dns_paths:
      - name: dc1-vcenter
        resolver: {name: dc1, address: 10.1.1.10}   # port 53 unless given; or `resolver: dc1`:
                                                    # a resolver of a `dns:` group, by its name
        query: vcenter.example.net
        type: A                                     # A | AAAA | PTR
        transport: udp                              # udp | tcp
        interval_seconds: 0.2
        timeout_seconds: 1                          # an answer later than this is lost
        netns: holdtime-app                         # optional: ask from this namespace (by
                                                    # default the `dns:` group's, by name)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from holdtime.probes.dns_config import RESOLVER_FIELD, Resolver, dns_name
from holdtime.probes.dns_prober import DnsPath, DnsProber
from holdtime.probes.ping import ProgressCallback
from holdtime.sections import BuildContext, Section, seconds
from holdtime.suggestions import did_you_mean, listing
from holdtime.yaml_schema import Field


@dataclass(frozen=True, slots=True)
class DnsPathConfig:
    """A drill path measured by DNS queries to one resolver."""

    name: str
    resolver: Resolver
    query: str
    rdtype: str = "A"
    transport: str = "udp"
    interval_seconds: float = 0.2
    timeout_seconds: float = 1.0
    netns: str | None = None

    def prober(self, progress: ProgressCallback | None = None) -> DnsProber:
        """The prober a drill runs for this path (the DNS counterpart of a PingProber)."""
        path = DnsPath(
            self.resolver, self.query, self.rdtype, self.transport, self.netns, name=self.name
        )
        return DnsProber(
            [path],
            self.interval_seconds,
            late_after_seconds=self.timeout_seconds,
            progress=progress,
        )


_DEFAULT = DnsPathConfig(name="", resolver=Resolver("", ""), query="")
RESOLVER_SHAPE = (
    "a resolver of a dns: group by its name (resolver: dc1), or the resolver itself: "
    "{name: dc1, address: 10.1.1.10, port: 53}"
)

DNS_PATH_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "resolver": replace(RESOLVER_FIELD, required=True, shape=RESOLVER_SHAPE, or_name=True),
        "query": Field("str", required=True, check=dns_name),
        "type": Field("str", choices=("A", "AAAA", "PTR")),
        "transport": Field("str", choices=("udp", "tcp")),
        "interval_seconds": seconds(0.01, 60),
        "timeout_seconds": seconds(0.05, 60),
        "netns": Field("name"),
    },
)


def build_dns_path(
    raw: Mapping[str, Any], where: str, context: BuildContext
) -> DnsPathConfig | None:
    """One `dns_paths:` entry (None without a name: already reported).

    An entry with a problem (no resolver, a query that is not a DNS name: the schema walk said
    so, and the problem fails the load) is still built, as `ldaps_paths:` entries are: a drill
    naming it then gets no second, misleading "no such path" line.
    """
    if raw.get("name") is None:
        return None
    resolver = raw.get("resolver")
    netns = raw.get("netns")
    if isinstance(resolver, str):
        resolver, group_netns = _declared_resolver(resolver, f"{where}.resolver", context)
        netns = netns or group_netns
    elif not isinstance(resolver, Mapping):
        resolver = {}
    return DnsPathConfig(
        name=raw["name"],
        resolver=Resolver(
            resolver.get("name") or "", resolver.get("address") or "", resolver.get("port", 53)
        ),
        query=raw.get("query") or "",
        rdtype=raw.get("type", _DEFAULT.rdtype),
        transport=raw.get("transport", _DEFAULT.transport),
        interval_seconds=raw.get("interval_seconds", _DEFAULT.interval_seconds),
        timeout_seconds=raw.get("timeout_seconds", _DEFAULT.timeout_seconds),
        netns=netns,
    )


def _declared_resolver(
    name: str, where: str, context: BuildContext
) -> tuple[Mapping[str, Any], str | None]:
    """The `dns:` resolver called `name` and its group's netns ({} when there is none: said)."""
    declared = [
        (group, entry)
        for group in context.entries("dns")
        for entry in group.get("resolvers") or []
        if isinstance(entry, Mapping) and entry.get("name")
    ]
    found: dict[tuple[object, object], list[Mapping[str, Any]]] = {}
    for group, entry in declared:
        if entry["name"] == name:
            key = (entry.get("address"), entry.get("port", 53))
            found.setdefault(key, []).append(group)
    if not found:
        known = {str(entry["name"]) for _group, entry in declared}
        hint = did_you_mean(name, sorted(known))
        listed = f"the dns: section has {listing(known)}" if known else "no dns: section lists any"
        context.problem(where, f"no resolver named {name!r} in a dns: group{hint}; {listed}")
        return {}, None
    if len(found) > 1:
        places = "; ".join(f"{address} port {port}" for address, port in found)
        context.problem(
            where,
            f"resolver {name!r} has different addresses in the dns: groups ({places}): give "
            "the resolver itself, {name: ..., address: ..., port: ...}",
        )
        return {}, None
    (address, port), groups = next(iter(found.items()))
    netns = {group.get("netns") for group in groups}
    return {"name": name, "address": address, "port": port}, (
        netns.pop() if len(netns) == 1 else None
    )


DNS_PATHS = Section(
    name="dns_paths",
    item=DNS_PATH_FIELD,
    build=build_dns_path,
    label="dns paths",
    order=41,
)
