"""The `kmip:` section of the inventory: KMIP key servers holdtime talks to directly (5696).

Each entry names the server, the CA that signed its certificate and holdtime's client
certificate and key (KMIP servers authenticate clients by certificate). The files are checked
when the inventory loads: a missing file, or one that is not PEM of the expected kind, is one
line naming file:line. Their contents are never printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holdtime.sections import BuildContext, Section, seconds
from holdtime.yaml_schema import Field

KMIP_PORT = 5696


@dataclass(frozen=True, slots=True)
class KmipExpect:
    """What a healthy KMIP server looks like."""

    max_latency_seconds: float = 1.0  # DiscoverVersions round trip
    certificate_warn_days: int = 30  # WARN when the server certificate expires sooner


@dataclass(frozen=True, slots=True)
class KmipServer:
    """One KMIP endpoint and the TLS material holdtime authenticates with."""

    name: str
    host: str
    client_certificate: Path
    client_key: Path
    ca_file: Path | None = None  # None: the system trust store
    port: int = KMIP_PORT
    server_name: str = ""  # name the server certificate must carry; "" means `host`
    timeout_seconds: float = 5.0  # whole exchange: connect, TLS, DiscoverVersions
    client_key_password: str | None = field(default=None, repr=False)
    expect: KmipExpect = field(default_factory=KmipExpect)
    netns: str | None = None  # network namespace the TCP connection starts in (the lab's app)

    @property
    def verify_name(self) -> str:
        """The host name (or address) checked against the server certificate."""
        return self.server_name or self.host


_DEFAULT = KmipServer(name="", host="", client_certificate=Path(), client_key=Path())

KMIP_FIELD = Field(
    "map",
    fields={
        "name": Field("name", required=True),
        "host": Field("host", required=True),
        "port": Field("port"),
        "server_name": Field("host"),
        "ca_file": Field("str"),
        "client_certificate": Field("str", required=True),
        "client_key": Field("str", required=True),
        "client_key_password_env": Field("str"),
        "timeout_seconds": seconds(0.1, 120),
        "netns": Field("name"),
        "expect": Field(
            "map",
            fields={
                "max_latency_seconds": seconds(0.001, 120),
                "certificate_warn_days": Field("int", low=0, high=3650),
            },
        ),
    },
)

# What the first PEM block of each file must be (the label after "-----BEGIN ").
_CERTIFICATE_LABELS = ("CERTIFICATE",)
_KEY_LABELS = ("PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY")


def pem_labels(path: Path) -> list[str]:
    """The labels of the PEM blocks in a file (`CERTIFICATE`, `PRIVATE KEY`), [] when none.

    Reads only the BEGIN lines: nothing of the content is kept or returned.
    """
    labels = []
    with path.open("rb") as handle:
        for raw in handle:
            line = raw.strip()
            if line.startswith(b"-----BEGIN ") and line.endswith(b"-----"):
                labels.append(line[len(b"-----BEGIN ") : -len(b"-----")].decode("ascii", "replace"))
    return labels


def _pem_file(
    raw: Mapping[str, Any], key: str, where: str, context: BuildContext, wanted: tuple[str, ...]
) -> Path | None:
    value = raw.get(key)
    if value is None:
        return None
    path = context.file(value, f"{where}.{key}")
    if path is None or not path.is_file():
        return None  # the missing file is already reported
    try:
        labels = pem_labels(path)
    except OSError as exc:
        context.problem(f"{where}.{key}", f"file {value!r} cannot be read: {exc.strerror}")
        return None
    if not any(label in wanted for label in labels):
        kind = "a PEM certificate" if wanted == _CERTIFICATE_LABELS else "a PEM private key"
        found = f" (found {', '.join(labels)})" if labels else ""
        context.problem(f"{where}.{key}", f"file {value!r} is not {kind}{found}")
        return None
    return path


def build_kmip(raw: Mapping[str, Any], where: str, context: BuildContext) -> KmipServer | None:
    """One `kmip:` entry (None when a required key or file is missing: already reported)."""
    defaults = context.defaults.get("kmip") or {}
    ca_file = _pem_file(raw, "ca_file", where, context, _CERTIFICATE_LABELS)
    certificate = _pem_file(raw, "client_certificate", where, context, _CERTIFICATE_LABELS)
    key = _pem_file(raw, "client_key", where, context, _KEY_LABELS)
    password = context.secret(
        raw.get("client_key_password_env"), f"{where}.client_key_password_env"
    )
    if raw.get("name") is None or raw.get("host") is None or certificate is None or key is None:
        return None
    if raw.get("ca_file") is not None and ca_file is None:
        return None
    if password is None and "ENCRYPTED PRIVATE KEY" in pem_labels(key):
        context.problem(
            f"{where}.client_key",
            f"file {raw['client_key']!r} is an encrypted key: set client_key_password_env",
        )
        return None
    expect_raw = raw.get("expect") or {}
    expect = KmipExpect(
        max_latency_seconds=expect_raw.get(
            "max_latency_seconds", _DEFAULT.expect.max_latency_seconds
        ),
        certificate_warn_days=expect_raw.get(
            "certificate_warn_days", _DEFAULT.expect.certificate_warn_days
        ),
    )
    return KmipServer(
        name=raw["name"],
        host=raw["host"],
        port=raw.get("port", _DEFAULT.port),
        server_name=raw.get("server_name") or "",
        ca_file=ca_file,
        client_certificate=certificate,
        client_key=key,
        client_key_password=password,
        timeout_seconds=raw.get(
            "timeout_seconds", defaults.get("timeout_seconds", _DEFAULT.timeout_seconds)
        ),
        expect=expect,
        netns=raw.get("netns"),
    )


KMIP = Section(
    name="kmip",
    item=KMIP_FIELD,
    build=build_kmip,
    label="KMIP servers",
    defaults={"kmip": Field("map", fields={"timeout_seconds": seconds(0.1, 120)})},
    order=55,
)
