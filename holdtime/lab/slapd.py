"""OpenLDAP slapd for the lab and the tests: a small directory with LDAPS, StartTLS and a bind.

One slapd per directory controller, run by hand as root (no systemd, never Debian's own
instance): `start_slapd(state_dir, tls, netns=...)` writes a slapd.conf (`-f`, simpler to render
than cn=config), loads the directory offline with slapadd (no wait for a server to add entries),
starts slapd in the foreground inside the namespace (`ip netns exec NS slapd -d 0 ...`, so the pid
is ours to stop) and returns once the LDAP and LDAPS listeners accept. `stop_slapd(server)` ends
it by pid. A caller that spawns and records its processes itself (the lab) uses the two halves:
`prepare_slapd(...)` (config + slapadd, returns the argv) and `await_slapd(pid, ...)`.

The directory: the base DN, `ou=services` and a service account (`cn=holdtime-svc`) whose
password is given by the caller and stored as {SSHA}; the rootDSE and entries are readable
anonymously, userPassword only usable to authenticate (a simple bind).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from holdtime.errors import PrerequisiteError

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
MODULE_PATH = "/usr/lib/ldap"
SCHEMA_DIR = "/etc/ldap/schema"
DEFAULT_BASE_DN = "dc=lab,dc=example"
SERVICE_ACCOUNT = "holdtime-svc"


@dataclass(frozen=True, slots=True)
class SlapdTls:
    """The PEM files slapd serves TLS with (from holdtime.lab.lab_ca)."""

    cert_path: Path
    key_path: Path
    ca_path: Path


@dataclass(frozen=True, slots=True)
class Slapd:
    """A running slapd started by `start_slapd`."""

    pid: int
    netns: str | None
    state_dir: Path
    address: str | None  # None: every address of the namespace
    ldap_port: int
    ldaps_port: int
    base_dn: str
    service_dn: str
    log_path: Path


def service_dn(base_dn: str = DEFAULT_BASE_DN) -> str:
    """The DN of the lab's service account under `base_dn`."""
    return f"cn={SERVICE_ACCOUNT},ou=services,{base_dn}"


def ssha(password: str, salt: bytes | None = None) -> str:
    """`{SSHA}` userPassword value (what `slappasswd -h {SSHA}` prints) for `password`."""
    salt = salt if salt is not None else os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def slapd_conf(state_dir: Path, tls: SlapdTls, base_dn: str) -> str:
    """The slapd.conf of one lab controller: mdb in `state_dir/db`, TLS from `tls`."""
    schemas = "\n".join(
        f"include {SCHEMA_DIR}/{name}.schema" for name in ("core", "cosine", "inetorgperson")
    )
    return f"""{schemas}
modulepath {MODULE_PATH}
moduleload back_mdb
pidfile {state_dir}/slapd.pid
argsfile {state_dir}/slapd.args
loglevel none
TLSCACertificateFile {tls.ca_path}
TLSCertificateFile {tls.cert_path}
TLSCertificateKeyFile {tls.key_path}
database mdb
maxsize 16777216
suffix "{base_dn}"
directory {state_dir}/db
access to attrs=userPassword by anonymous auth by self read by * none
access to * by * read
"""


def directory_ldif(base_dn: str, password: str) -> str:
    """The lab directory: base entry, ou=services, the service account with `password`."""
    first = base_dn.split(",", maxsplit=1)[0].split("=", 1)[1]
    return f"""dn: {base_dn}
objectClass: dcObject
objectClass: organization
dc: {first}
o: holdtime lab

dn: ou=services,{base_dn}
objectClass: organizationalUnit
ou: services

dn: {service_dn(base_dn)}
objectClass: person
objectClass: simpleSecurityObject
cn: {SERVICE_ACCOUNT}
sn: {SERVICE_ACCOUNT}
userPassword: {ssha(password)}
"""


def _urls(address: str | None, ldap_port: int, ldaps_port: int) -> str:
    # No host in the URL: every address of the namespace.
    host = "" if address is None else f"[{address}]" if ":" in address else address
    return f"ldap://{host}:{ldap_port}/ ldaps://{host}:{ldaps_port}/"


def _netns_prefix(netns: str | None) -> list[str]:
    return ["ip", "netns", "exec", netns] if netns else []


def _accepts(address: str, port: int, netns: str | None) -> bool:
    from holdtime import netns as netns_module

    try:
        netns_module.create_connection((address, port), 0.5, netns).close()
    except OSError:
        return False
    return True


def prepare_slapd(
    state_dir: Path,
    tls: SlapdTls,
    password: str,
    *,
    address: str | None = None,
    ldap_port: int = 389,
    ldaps_port: int = 636,
    base_dn: str = DEFAULT_BASE_DN,
) -> list[str]:
    """Write slapd.conf, load the directory (slapadd) and return slapd's argv (no netns prefix).

    For a caller that spawns and records processes itself (the lab's `_spawn`): run the argv
    inside the namespace, then `await_slapd`. `state_dir` is this instance's own (config,
    database, log); an existing database there is replaced.
    """
    for binary in (SLAPD, SLAPADD):
        if not Path(binary).exists():
            raise PrerequisiteError(f"{binary} is missing: apt-get install slapd")
    state_dir.mkdir(parents=True, exist_ok=True)
    database = state_dir / "db"
    shutil.rmtree(database, ignore_errors=True)
    database.mkdir(mode=0o700)
    conf = state_dir / "slapd.conf"
    conf.write_text(slapd_conf(state_dir, tls, base_dn))
    ldif = state_dir / "directory.ldif"
    fd = os.open(ldif, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds the password hash
    with os.fdopen(fd, "w") as handle:
        handle.write(directory_ldif(base_dn, password))
    loaded = subprocess.run(
        [SLAPADD, "-q", "-f", str(conf), "-l", str(ldif)],
        capture_output=True,
        text=True,
        check=False,
    )
    if loaded.returncode != 0:
        raise PrerequisiteError(f"slapadd failed in {state_dir}: {loaded.stderr.strip()}")
    # -d 0: stay in the foreground (the pid is slapd's own), log nothing but errors.
    return [SLAPD, "-d", "0", "-f", str(conf), "-h", _urls(address, ldap_port, ldaps_port)]


def await_slapd(
    pid: int,
    *,
    netns: str | None = None,
    address: str | None = None,
    ldap_port: int = 389,
    ldaps_port: int = 636,
    timeout_seconds: float = 10.0,
) -> bool:
    """Until both listeners accept (True), or slapd `pid` exits or the time is up (False)."""
    check_address = address or "127.0.0.1"
    give_up = time.monotonic() + timeout_seconds
    while time.monotonic() < give_up:
        if not Path(f"/proc/{pid}").exists() or _zombie(pid):
            return False
        if _accepts(check_address, ldaps_port, netns) and _accepts(check_address, ldap_port, netns):
            return True
        time.sleep(0.02)
    return False


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def start_slapd(
    state_dir: Path,
    tls: SlapdTls,
    password: str,
    *,
    netns: str | None = None,
    address: str | None = None,
    ldap_port: int = 389,
    ldaps_port: int = 636,
    base_dn: str = DEFAULT_BASE_DN,
    ready_timeout_seconds: float = 10.0,
) -> Slapd:
    """Configure and start one slapd (in `netns`, or on the host for None); return when it serves.

    It listens on `address` (None: every address of the namespace) at `ldap_port` (StartTLS)
    and `ldaps_port`. `state_dir` is this instance's own (config, database, pid, log).
    Raises PrerequisiteError when slapd is missing or does not come up, with the last lines of
    its log.
    """
    argv = prepare_slapd(
        state_dir,
        tls,
        password,
        address=address,
        ldap_port=ldap_port,
        ldaps_port=ldaps_port,
        base_dn=base_dn,
    )
    log_path = state_dir / "slapd.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_netns_prefix(netns), *argv],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Slapd(
        pid=process.pid,
        netns=netns,
        state_dir=state_dir,
        address=address,
        ldap_port=ldap_port,
        ldaps_port=ldaps_port,
        base_dn=base_dn,
        service_dn=service_dn(base_dn),
        log_path=log_path,
    )
    ready = await_slapd(
        process.pid,
        netns=netns,
        address=address,
        ldap_port=ldap_port,
        ldaps_port=ldaps_port,
        timeout_seconds=ready_timeout_seconds,
    )
    if ready:
        return server
    stop_slapd(server)
    tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
    raise PrerequisiteError(
        f"slapd did not serve {_urls(address, ldap_port, ldaps_port)} within "
        f"{ready_timeout_seconds:g} s (exit {process.poll()}): " + " | ".join(tail)
    )


def stop_slapd(server: Slapd, timeout_seconds: float = 5.0) -> None:
    """End `server` by its pid (SIGTERM, then SIGKILL); a slapd already gone is fine."""
    _signal_and_wait(server.pid, timeout_seconds)


def _signal_and_wait(pid: int, timeout_seconds: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    give_up = time.monotonic() + timeout_seconds
    while time.monotonic() < give_up:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (another process started it): poll instead
            if not Path(f"/proc/{pid}").exists():
                return
            done = 0
        if done == pid:
            return
        time.sleep(0.02)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def cleanup_slapd(server: Slapd) -> None:
    """Stop `server` and delete its state directory (database, config, keys stay the caller's)."""
    stop_slapd(server)
    shutil.rmtree(server.state_dir, ignore_errors=True)


def ldap_urls(server: Slapd, host: str | None = None) -> Sequence[str]:
    """The ldap:// and ldaps:// URLs of `server` as a client reaches them (host defaults to it)."""
    where = host or server.address or "127.0.0.1"
    return (f"ldap://{where}:{server.ldap_port}", f"ldaps://{where}:{server.ldaps_port}")


def free_port(address: str = "127.0.0.1") -> int:
    """A TCP port free on `address` now (for tests on loopback)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port
