"""The `ldaps:` section of the inventory: directory controllers reached over LDAPS (and StartTLS).

ldaps:
  - name: dc1
    host: 10.20.0.10
    server_name: dc1.lab.example      # the name the certificate must carry (default: host)
    ca_file: lab-ca.pem               # default: the system trust store
    base_dn: dc=lab,dc=example        # optional: must be among the rootDSE's namingContexts
    bind_dn: cn=holdtime-svc,ou=services,dc=lab,dc=example   # optional simple bind
    password_env: HOLDTIME_LDAP_PASSWORD
    starttls_port: 389                # optional: StartTLS is checked there too
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holdtime.probes.tls_config import ENDPOINT_FIELDS, ca_file, family_default
from holdtime.sections import BuildContext, Section, password, seconds
from holdtime.yaml_schema import Field


@dataclass(frozen=True, slots=True)
class LdapsController:
    """A directory controller whose LDAPS service (and optionally StartTLS) is judged."""

    name: str
    host: str
    port: int = 636
    server_name: str = ""  # "" = host
    ca_file: Path | None = None  # None = the system trust store
    timeout_seconds: float = 5.0
    warn_before_days: float = 30.0
    min_tls_version: str = "1.2"
    netns: str | None = None
    base_dn: str = ""  # "" = any naming context will do
    bind_dn: str = ""  # "" = no bind check
    password_env: str | None = None
    password: str | None = field(default=None, repr=False, compare=False)
    starttls_port: int | None = None  # None = no StartTLS check

    @property
    def verify_name(self) -> str:
        """The name verified against the certificate (and sent as SNI when it is a name)."""
        return self.server_name or self.host


_DEFAULT = LdapsController(name="", host="")

LDAPS_FIELD = Field(
    "map",
    fields={
        **ENDPOINT_FIELDS,
        "port": Field("port"),
        "base_dn": Field("str"),
        "bind_dn": Field("str"),
        "password_env": Field("str"),
        "password": Field("str"),
        "allow_literal_password": Field("bool"),
        "starttls_port": Field("port"),
    },
)


def build_ldaps(
    raw: Mapping[str, Any], where: str, context: BuildContext
) -> LdapsController | None:
    """One `ldaps:` entry: a bind needs both bind_dn and a password source, or neither."""
    if None in (raw.get("name"), raw.get("host")):
        return None
    has_password = "password_env" in raw or "password" in raw
    if raw.get("bind_dn") and not has_password:
        context.problem(where, "bind_dn needs password_env (the service account's password)")
    if has_password and not raw.get("bind_dn"):
        context.problem(where, "a password without bind_dn: name the account to bind as")
    if "password_env" in raw and "password" in raw:
        context.problem(where, "needs one of password_env or password, not both")
    return LdapsController(
        name=raw["name"],
        host=raw["host"],
        port=raw.get("port", _DEFAULT.port),
        server_name=raw.get("server_name") or "",
        ca_file=ca_file(raw, where, context),
        timeout_seconds=raw.get(
            "timeout_seconds",
            family_default(context, "ldaps", "timeout_seconds", _DEFAULT.timeout_seconds),
        ),
        warn_before_days=raw.get(
            "warn_before_days",
            family_default(context, "ldaps", "warn_before_days", _DEFAULT.warn_before_days),
        ),
        min_tls_version=raw.get("min_tls_version", _DEFAULT.min_tls_version),
        netns=raw.get("netns"),
        base_dn=raw.get("base_dn") or "",
        bind_dn=raw.get("bind_dn") or "",
        password_env=raw.get("password_env"),
        password=password(raw, where, raw.get("allow_literal_password"), context)
        if has_password
        else None,
        starttls_port=raw.get("starttls_port"),
    )


LDAPS = Section(
    name="ldaps",
    item=LDAPS_FIELD,
    build=build_ldaps,
    label="ldaps controllers",
    defaults={
        "ldaps": Field(
            "map",
            fields={
                "timeout_seconds": seconds(0.1, 120),
                "warn_before_days": Field("float", low=0, high=3650),
            },
        )
    },
    order=45,
)
