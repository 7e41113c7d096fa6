"""The `dns:` section of the inventory: resolvers (the directory controllers) and the names they
must all answer the same way.

::

    dns:
      - name: directory
        resolvers:
          - {name: dc1, address: 10.1.1.10}
          - {name: dc2, address: 10.1.2.10, port: 53}
        names:
          - name: vcenter.example.net
            addresses: [10.1.1.20]   # optional: exactly these A/AAAA records
          - name: nsx.example.net
            reverse: false           # optional: do not ask for the PTR of its addresses
        timeout_seconds: 2           # per query
        netns: holdtime-app          # optional: ask from inside this network namespace
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from holdtime.sections import BuildContext, Section, seconds
from holdtime.yaml_schema import HOST_RE, Field, Walker


@dataclass(frozen=True, slots=True)
class Resolver:
    """One DNS server that must answer: a directory controller."""

    name: str
    address: str
    port: int = 53


@dataclass(frozen=True, slots=True)
class ExpectedName:
    """A name every resolver must resolve; with `addresses`, to exactly those."""

    name: str  # lower case, no trailing dot
    addresses: tuple[str, ...] = ()  # empty: any A/AAAA will do, but there must be one
    reverse: bool = True  # the PTR of each address must name this host back


@dataclass(frozen=True, slots=True)
class DnsGroup:
    """A set of resolvers that must give the same answers for the same names."""

    name: str
    resolvers: tuple[Resolver, ...]
    names: tuple[ExpectedName, ...]
    timeout_seconds: float = 2.0
    netns: str | None = None
    tcp_fallback: bool = field(default=True)  # re-ask over TCP when a UDP answer is truncated


_DEFAULT = DnsGroup(name="", resolvers=(), names=())


def dns_name(value: Any, node: yaml.Node, walker: Walker, where: str) -> Any:
    """A DNS name (not an address), lower case without the trailing dot."""
    if value is None:
        return None
    text = str(value)
    try:
        ipaddress.ip_address(text)
    except ValueError:
        if _is_dns_name(text):
            return text.rstrip(".").lower()
        walker.problem(
            node,
            where,
            f"{text!r} is not a DNS name: write labels of letters, digits, '-' or '_' "
            "(1-63 each, not starting with '-') joined by single dots, e.g. vcenter.example.net",
        )
        return None
    walker.problem(node, where, f"{text!r} is an IP address, not a DNS name to resolve")
    return None


def _is_dns_name(text: str) -> bool:
    # an all-digit last label is a mistyped address (10.0.0.300.5), never a name to resolve
    return bool(HOST_RE.match(text)) and not text.rstrip(".").rpartition(".")[2].isdigit()


RESOLVER_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "address": Field("address", required=True),
        "port": Field("port", default=53),
    },
)

NAME_FIELD = Field(
    "map",
    fields={
        "name": Field("str", required=True, check=dns_name),
        "addresses": Field("list", item=Field("address"), one_or_list=True),
        "reverse": Field("bool"),
    },
)

DNS_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "resolvers": Field("list", required=True, item=RESOLVER_FIELD),
        "names": Field("list", required=True, item=NAME_FIELD),
        "timeout_seconds": seconds(0.05, 60),
        "netns": Field("name"),
        "tcp_fallback": Field("bool"),
    },
)


def _unique(
    entries: list[Mapping[str, Any]], key: str, what: str, where: str, context: BuildContext
) -> bool:
    seen: set[object] = set()
    clean = True
    for index, entry in enumerate(entries):
        value = entry.get(key)
        if value is None:
            continue  # missing or not valid: already reported where it is
        if value in seen:
            context.problem(f"{where}[{index}].{key}", f"{what} {value!r} is listed twice")
            clean = False
        seen.add(value)
    return clean


def build_dns(raw: Mapping[str, Any], where: str, context: BuildContext) -> DnsGroup | None:
    """One `dns:` entry (None when something required was missing or wrong: already reported)."""
    resolvers_raw = [r for r in raw.get("resolvers") or [] if isinstance(r, Mapping)]
    names_raw = [n for n in raw.get("names") or [] if isinstance(n, Mapping)]
    if raw.get("name") is None:
        return None
    if not resolvers_raw:
        context.problem(f"{where}.resolvers", "list at least one resolver")
    if not names_raw:
        context.problem(f"{where}.names", "list at least one name that must resolve")
    unique = _unique(resolvers_raw, "name", "resolver", f"{where}.resolvers", context)
    unique = _unique(names_raw, "name", "name", f"{where}.names", context) and unique
    resolvers = tuple(
        Resolver(name=r["name"], address=r["address"], port=r.get("port", 53))
        for r in resolvers_raw
        if r.get("name") is not None and r.get("address") is not None
    )
    names = tuple(
        ExpectedName(
            name=n["name"],
            addresses=tuple(str(ipaddress.ip_address(a)) for a in n.get("addresses") or ()),
            reverse=n.get("reverse", True),
        )
        for n in names_raw
        if n.get("name") is not None
    )
    if not (unique and resolvers and names) or len(resolvers) < len(resolvers_raw):
        return None
    if len(names) < len(names_raw):
        return None
    default = (context.defaults.get("dns") or {}).get("timeout_seconds", _DEFAULT.timeout_seconds)
    return DnsGroup(
        name=raw["name"],
        resolvers=resolvers,
        names=names,
        timeout_seconds=raw.get("timeout_seconds", default),
        netns=raw.get("netns"),
        tcp_fallback=raw.get("tcp_fallback", _DEFAULT.tcp_fallback),
    )


DNS = Section(
    name="dns",
    item=DNS_FIELD,
    build=build_dns,
    label="dns groups",
    defaults={"dns": Field("map", fields={"timeout_seconds": seconds(0.05, 60)})},
    order=45,
)
