"""Read a Prometheus web-config file (exporter-toolkit format): TLS and basic auth.

Supported keys, as Prometheus and its exporters spell them::

    tls_server_config:
      cert_file: server.crt        # relative paths are relative to this file
      key_file: server.key
      client_ca_file: ca.crt       # optional: verify client certificates
      client_auth_type: RequireAndVerifyClientCert   # NoClientCert | VerifyClientCertIfGiven
      min_version: TLS12           # TLS12 | TLS13
    basic_auth_users:
      prometheus: $2y$10$...       # bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')

Anything else is a one-line ConfigError naming the file, never silently ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ssl
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from holdtime.errors import ConfigError

_TLS_KEYS = {"cert_file", "key_file", "client_ca_file", "client_auth_type", "min_version"}
_CLIENT_AUTH = {
    "NoClientCert": ssl.CERT_NONE,
    "VerifyClientCertIfGiven": ssl.CERT_OPTIONAL,
    "RequireAndVerifyClientCert": ssl.CERT_REQUIRED,
}
_MIN_VERSION = {"TLS12": ssl.TLSVersion.TLSv1_2, "TLS13": ssl.TLSVersion.TLSv1_3}


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """Server certificate and optional client verification."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None
    client_auth_type: str = "NoClientCert"
    min_version: str = "TLS12"

    def context(self) -> ssl.SSLContext:
        """A server-side SSLContext; unreadable files are a ConfigError naming them."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = _MIN_VERSION[self.min_version]
        try:
            context.load_cert_chain(str(self.cert_file), str(self.key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot load TLS certificate {self.cert_file} / key {self.key_file}: {exc}"
            ) from None
        context.verify_mode = _CLIENT_AUTH[self.client_auth_type]
        if self.client_ca_file is not None:
            try:
                context.load_verify_locations(cafile=str(self.client_ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"cannot load client CA {self.client_ca_file}: {exc}") from None
        return context


@dataclass(slots=True)
class BasicAuth:
    """Checks `Authorization: Basic` headers against bcrypt hashes.

    bcrypt is slow on purpose (~50 ms at cost 10); a verified (user, password) pair is
    remembered as a SHA-256 digest so a scrape every second does not pay it each time.
    """

    users: Mapping[str, bytes]
    _verified: set[tuple[str, bytes]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, header: str | None) -> bool:
        """True when the header carries a known user with the right password."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, colon, password = decoded.partition(":")
        hashed = self.users.get(user)
        if not colon or hashed is None:
            return False
        digest = hashlib.sha256(hashed + b"\0" + password.encode("utf-8")).digest()
        with self._lock:
            if (user, digest) in self._verified:
                return True
        import bcrypt  # comes with paramiko

        try:
            ok = bcrypt.checkpw(password.encode("utf-8"), hashed)
        except ValueError:
            return False
        if ok:
            with self._lock:
                self._verified.add((user, digest))
        return bool(ok)


@dataclass(frozen=True, slots=True)
class WebConfig:
    """What the listener enforces; the default (no file) is plain HTTP without auth."""

    tls: TlsConfig | None = None
    basic_auth: BasicAuth | None = None


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def load_web_config(path: Path) -> WebConfig:
    """Parse a web-config file; every problem is a one-line ConfigError naming the file."""
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read web config {path}: {exc.strerror}") from None
    try:
        data = _mapping(yaml.safe_load(text), str(path))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{line}: not valid YAML") from None
    unknown = set(data) - {"tls_server_config", "basic_auth_users"}
    if unknown:
        raise ConfigError(
            f"{path}: unsupported key(s) {', '.join(sorted(unknown))} "
            "(supported: tls_server_config, basic_auth_users)"
        )
    tls_data = _mapping(data.get("tls_server_config"), f"{path}: tls_server_config")
    tls = _tls_config(tls_data, path) if tls_data else None
    users = _mapping(data.get("basic_auth_users"), f"{path}: basic_auth_users")
    auth = _basic_auth(users, path) if users else None
    return WebConfig(tls=tls, basic_auth=auth)


def _tls_config(tls_data: Mapping[str, object], path: Path) -> TlsConfig:
    """`tls_server_config`, paths relative to the web-config file."""
    extra = set(tls_data) - _TLS_KEYS
    if extra:
        raise ConfigError(
            f"{path}: tls_server_config: unsupported key(s) {', '.join(sorted(extra))}"
        )
    for required in ("cert_file", "key_file"):
        if not tls_data.get(required):
            raise ConfigError(f"{path}: tls_server_config.{required} is required")
    auth_type = _one_of(tls_data, "client_auth_type", "NoClientCert", _CLIENT_AUTH, path)
    min_version = _one_of(tls_data, "min_version", "TLS12", _MIN_VERSION, path)
    client_ca = tls_data.get("client_ca_file")
    if auth_type == "RequireAndVerifyClientCert" and not client_ca:
        raise ConfigError(f"{path}: client_auth_type {auth_type} needs client_ca_file")
    base = path.parent
    return TlsConfig(
        cert_file=base / str(tls_data["cert_file"]),
        key_file=base / str(tls_data["key_file"]),
        client_ca_file=base / str(client_ca) if client_ca else None,
        client_auth_type=auth_type,
        min_version=min_version,
    )


def _one_of(
    tls_data: Mapping[str, object], key: str, default: str, allowed: Iterable[str], path: Path
) -> str:
    value = str(tls_data.get(key, default))
    if value not in allowed:
        raise ConfigError(
            f"{path}: tls_server_config.{key} {value!r} not one of {', '.join(allowed)}"
        )
    return value


def _basic_auth(users: Mapping[str, object], path: Path) -> BasicAuth:
    """`basic_auth_users`: bcrypt hashes only, never a plain password."""
    hashes: dict[str, bytes] = {}
    for user, hashed in users.items():
        if not isinstance(hashed, str) or not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise ConfigError(
                f"{path}: basic_auth_users.{user}: expected a bcrypt hash ($2y$...), "
                "not a plain password"
            )
        hashes[str(user)] = hashed.encode("ascii")
    return BasicAuth(hashes)
