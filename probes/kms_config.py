"""The `kms:` section of the inventory: the key providers a vCenter of `vcenters:` must hold.

One entry per vCenter (``vcenter:`` names a `vcenters:` entry, whose connection and credentials
it reuses). Why a section of its own rather than a flag on `vcenters:`: the key providers are
the security team's policy (which providers, which is the default, how many servers), reviewed
apart from the vSphere connection; a vCenter without VM encryption needs no entry and runs no
`kms.*` check; and the expected providers and servers give the pytest plugin one item each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from holdtime.probes.vsphere_config import VCenter
from holdtime.sections import BuildContext, Section
from holdtime.yaml_schema import Field


@dataclass(frozen=True, slots=True)
class KmsExpect:
    """Key provider policy: servers per provider and certificate warning horizons."""

    min_servers: int = 2
    client_certificate_warn_days: float = 30.0
    server_certificate_warn_days: float = 30.0


@dataclass(frozen=True, slots=True)
class ExpectedProvider:
    """A key provider the inventory expects, with the KMIP server names it must list."""

    name: str
    servers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class KmsSite:
    """One `kms:` entry: a vCenter and the key providers it must hold (none listed: any)."""

    vcenter: str
    providers: tuple[ExpectedProvider, ...] = ()
    default_provider: str | None = None
    expect: KmsExpect = KmsExpect()


@dataclass(frozen=True, slots=True)
class KmsTarget:
    """What the kms probe and checks see: the entry and the vCenter it names."""

    site: KmsSite
    vcenter: VCenter


_DEFAULT_EXPECT = KmsExpect()

KMS_FIELD = Field(
    "map",
    fields={
        "vcenter": Field("name", required=True),
        "providers": Field(
            "list",
            item=Field(
                "map",
                fields={
                    "name": Field("str", required=True),
                    "servers": Field("list", item=Field("str"), one_or_list=True),
                },
            ),
        ),
        "default_provider": Field("str"),
        "expect": Field(
            "map",
            fields={
                "min_servers": Field("int", low=1, high=16),
                "client_certificate_warn_days": Field("float", low=0, high=3650),
                "server_certificate_warn_days": Field("float", low=0, high=3650),
            },
        ),
    },
)


def _providers(raw: Any, where: str, context: BuildContext) -> tuple[ExpectedProvider, ...]:
    providers: list[ExpectedProvider] = []
    seen: set[str] = set()
    for index, item in enumerate(raw or ()):
        name = item.get("name")
        if not name:
            continue  # reported by the walker
        if name in seen:
            context.problem(f"{where}.providers[{index}].name", f"provider {name!r} listed twice")
        seen.add(name)
        servers = tuple(item.get("servers") or ())
        for duplicate in sorted({s for s in servers if servers.count(s) > 1}):
            context.problem(
                f"{where}.providers[{index}].servers", f"server {duplicate!r} listed twice"
            )
        providers.append(ExpectedProvider(name=name, servers=servers))
    return tuple(providers)


def build_kms(raw: Mapping[str, Any], where: str, context: BuildContext) -> KmsSite | None:
    """One `kms:` entry: its vCenter must exist, its default must be one of its providers."""
    vcenter = raw.get("vcenter")
    if vcenter is None:
        return None
    known = context.names("vcenters")
    if vcenter not in known:
        listed = ", ".join(sorted(known)) or "none"
        context.problem(
            f"{where}.vcenter",
            f"vcenter {vcenter!r} is not declared under vcenters: (declared: {listed}); "
            "fix the name or add the vCenter there",
        )
    providers = _providers(raw.get("providers"), where, context)
    default = raw.get("default_provider")
    names = [p.name for p in providers]
    if default is not None and providers and default not in names:
        context.problem(
            f"{where}.default_provider",
            f"provider {default!r} is not in this entry's providers ({', '.join(names)})",
        )
    expect = raw.get("expect") or {}
    return KmsSite(
        vcenter=vcenter,
        providers=providers,
        default_provider=default,
        expect=KmsExpect(
            min_servers=expect.get("min_servers", _DEFAULT_EXPECT.min_servers),
            client_certificate_warn_days=expect.get(
                "client_certificate_warn_days", _DEFAULT_EXPECT.client_certificate_warn_days
            ),
            server_certificate_warn_days=expect.get(
                "server_certificate_warn_days", _DEFAULT_EXPECT.server_certificate_warn_days
            ),
        ),
    )


KMS = Section(
    name="kms",
    item=KMS_FIELD,
    build=build_kms,
    label="key provider sites",
    order=25,
    # Two entries for one vCenter would expect its providers (and its default) twice, and
    # their checks would report on the same provider under the same target name.
    unique_by="vcenter",
    duplicate_hint="one kms entry per vCenter: list all its key providers in the first",
)
