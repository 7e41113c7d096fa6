"""The `tls:` section of the inventory: endpoints whose certificate and handshake are judged.

Any TLS service (vCenter 443, NSX 443, KMIP 5696, LDAPS 636). The keys every TLS endpoint has
(`host`, `port`, `server_name`, `ca_file`, `warn_before_days`, `min_tls_version`, ...) are
declared here once and reused by the `ldaps:` section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from holdtime.probes.tls_handshake import ca_file_problem
from holdtime.sections import BuildContext, Section, seconds
from holdtime.yaml_schema import Field

TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
"""What `min_tls_version` accepts; `ssl.SSLSocket.version()` spells them TLSv1, TLSv1.1 ..."""


@dataclass(frozen=True, slots=True)
class TlsEndpoint:
    """A TLS service whose certificate must verify and not be near its end."""

    name: str
    host: str
    port: int
    server_name: str = ""  # the name the certificate must carry; "" = host
    ca_file: Path | None = None  # None = the system trust store
    timeout_seconds: float = 5.0
    warn_before_days: float = 30.0
    min_tls_version: str = "1.2"
    netns: str | None = None

    @property
    def verify_name(self) -> str:
        """The name verified against the certificate (and sent as SNI when it is a name)."""
        return self.server_name or self.host


_DEFAULT = TlsEndpoint(name="", host="", port=0)

ENDPOINT_FIELDS: Mapping[str, Field] = {
    "name": Field("name", required=True),
    "host": Field("host", required=True),
    "server_name": Field("host"),
    "ca_file": Field("str"),
    "timeout_seconds": seconds(0.1, 120),
    "warn_before_days": Field("float", low=0, high=3650),
    "min_tls_version": Field("str", choices=TLS_VERSIONS),
    "netns": Field("name"),
}


def ca_file(raw: Mapping[str, Any], where: str, context: BuildContext) -> Path | None:
    """The entry's `ca_file` resolved against the inventory; a problem when it is not PEM."""
    path = context.file(raw.get("ca_file"), f"{where}.ca_file")
    if path is not None and path.is_file():
        why = ca_file_problem(path)
        if why:
            context.problem(f"{where}.ca_file", f"{raw.get('ca_file')!r}: {why}")
    return path


def family_default(context: BuildContext, family: str, key: str, default: object) -> Any:
    """`defaults: {family: {key: ...}}` when the inventory sets it, else the declared default."""
    return (context.defaults.get(family) or {}).get(key, default)


def build_tls(raw: Mapping[str, Any], where: str, context: BuildContext) -> TlsEndpoint | None:
    """One `tls:` entry (None when a required key was missing: already reported)."""
    if None in (raw.get("name"), raw.get("host"), raw.get("port")):
        return None
    return TlsEndpoint(
        name=raw["name"],
        host=raw["host"],
        port=raw["port"],
        server_name=raw.get("server_name") or "",
        ca_file=ca_file(raw, where, context),
        timeout_seconds=raw.get(
            "timeout_seconds",
            family_default(context, "tls", "timeout_seconds", _DEFAULT.timeout_seconds),
        ),
        warn_before_days=raw.get(
            "warn_before_days",
            family_default(context, "tls", "warn_before_days", _DEFAULT.warn_before_days),
        ),
        min_tls_version=raw.get("min_tls_version", _DEFAULT.min_tls_version),
        netns=raw.get("netns"),
    )


TLS = Section(
    name="tls",
    item=Field("map", fields={**ENDPOINT_FIELDS, "port": Field("port", required=True)}),
    build=build_tls,
    label="tls endpoints",
    defaults={
        "tls": Field(
            "map",
            fields={
                "timeout_seconds": seconds(0.1, 120),
                "warn_before_days": Field("float", low=0, high=3650),
            },
        )
    },
    order=50,
)
