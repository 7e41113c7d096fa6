"""SSH transport for routers: one paramiko connection per device per run, reused for every command.

- Host keys are verified against known_hosts (reject by default). ``accept-new`` (trust on first
  use, then pin) and ``warn`` (accept anything) are explicit opt-ins that log a WARNING naming
  the device and the key fingerprint every time they accept a key.
- Authentication: exactly one of a key file, ssh-agent, or a password (from an environment
  variable, resolved by the inventory); ``look_for_keys`` is off so nothing else is tried.
- ssh_config (when the router names one) supplies HostName, User, Port, IdentityFile,
  UserKnownHostsFile and ProxyJump; the inventory's own values win where it sets them.
- ProxyJump hops are chained with ``direct-tcpip`` channels, each hop verified like the target.
- The first socket is created with :func:`holdtime.netns.create_connection`, so a router with
  ``netns`` is reached from inside that network namespace (the local lab).
- Every failure is one of ConnectError / AuthError / HostKeyError / CommandTimeout with a
  one-line message that starts with the device name. paramiko's own log records (its transport
  thread logs a traceback for every failed handshake) are re-logged at DEBUG under
  ``holdtime.ssh.paramiko``: no library traceback reaches the user's terminal.
- stdout and stderr are drained together (one wake-up for both, at the end of the output or
  every 512 KiB), so a command that floods either stream never stalls on a full SSH window.
- Cheaper per command than paramiko's defaults, with the same checks: the exec request is sent
  without waiting for its reply (a refusal still fails the command), the transport's socket
  is read ahead 64 KiB at a time and written in one system call, packet padding comes from a
  pool of os.urandom bytes, and the handshake timeout is a deadline, not a thread.
- A command that times out is ended on the device before its channel is closed (a ``signal``
  request to its process group, else a fixed ``kill`` of the connection's other sessions; see
  :meth:`SshSession._stop`): a hanging device does not collect orphaned commands.

paramiko is imported inside functions only: ``holdtime --help`` must not pay for it.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import functools
import hashlib
import logging
import os
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from holdtime import netns, redaction
from holdtime.errors import (
    AuthError,
    CommandTimeout,
    ConfigError,
    ConnectError,
    HostKeyError,
    TransportError,
)
from holdtime.probes.router_config import HOST_KEY_POLICIES

if TYPE_CHECKING:
    import paramiko

    from holdtime.probes.router_config import Router

log = logging.getLogger("holdtime.ssh")
_paramiko_log = logging.getLogger("holdtime.ssh.paramiko")
_KNOWN_HOSTS_LOCK = threading.Lock()  # accept-new appends to a file many threads may share

SocketFactory = Callable[[tuple[str, int], float, "str | None"], socket.socket]


class _ToDebug(logging.Handler):
    """Re-log paramiko's records (a traceback per failed handshake) at DEBUG, under holdtime."""

    def emit(self, record: logging.LogRecord) -> None:
        if _paramiko_log.isEnabledFor(logging.DEBUG):
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            _paramiko_log.debug("%s: %s", record.name, text)


_CAPTURE_LOCK = threading.Lock()
_captured: list[bool] = []  # non-empty once capture_paramiko_logging has run


def capture_paramiko_logging() -> None:
    """Route paramiko's logger and its transport threads' uncaught exceptions to DEBUG (once)."""
    with _CAPTURE_LOCK:
        if _captured:
            return
        import paramiko

        logger = logging.getLogger("paramiko")
        logger.addHandler(_ToDebug())
        logger.propagate = False  # else Python's last-resort handler prints WARNING+ to stderr
        previous = threading.excepthook

        def hook(args: threading.ExceptHookArgs) -> None:
            if isinstance(args.thread, paramiko.Transport):
                _paramiko_log.debug(
                    "%s: uncaught %s in the transport thread: %s",
                    args.thread.name,
                    args.exc_type.__name__,
                    args.exc_value,
                )
                return
            previous(args)

        threading.excepthook = hook
        atexit.register(_end_in_flight_commands)
        _captured.append(True)


@dataclass(frozen=True, slots=True)
class Hop:
    """One SSH endpoint on the way to a device (a bastion or the device itself)."""

    host: str  # the name the user wrote (an ssh_config alias or an address)
    hostname: str  # what we connect to (ssh_config HostName, else host)
    port: int
    username: str
    key_files: tuple[Path, ...] = ()
    host_key_alias: str = ""  # ssh_config HostKeyAlias: known_hosts is keyed by it

    @property
    def known_as(self) -> str:
        """The name known_hosts is keyed by: HostKeyAlias, else HostName (as OpenSSH does)."""
        return self.host_key_alias or self.hostname


@dataclass(frozen=True, slots=True)
class SshParams:
    """Everything needed to reach one device, resolved from the inventory and ssh_config."""

    device: str
    target: Hop
    jumps: tuple[Hop, ...] = ()
    agent: bool = False
    password: str | None = field(default=None, repr=False)
    known_hosts: tuple[Path, ...] = ()
    host_key_policy: str = "reject"
    connect_timeout_seconds: float = 10.0
    command_timeout_seconds: float = 20.0
    netns: str | None = None

    @classmethod
    def from_router(cls, router: Router) -> SshParams:
        """Build from an inventory Router, with ssh_config filling what the router leaves open."""
        device = router.name or router.host or "device"
        policy = router.host_key_policy
        if policy not in HOST_KEY_POLICIES:
            raise ConfigError(
                f"{device}: host_key_policy {policy!r} is not one of reject, accept-new, warn"
            )
        lookup = _ssh_config_lookup(router.ssh_config, device)
        key_file = router.auth.key_file
        explicit_keys = (Path(key_file).expanduser(),) if key_file else ()
        target = _hop_from(lookup, router.host, router.port, router.username, explicit_keys)
        proxy_jump = router.proxy_jump or lookup(router.host).get("proxyjump")
        jumps = tuple(
            _parse_jump(spec, lookup, router.username, explicit_keys, device)
            for spec in (proxy_jump.split(",") if proxy_jump and proxy_jump != "none" else [])
        )
        known: list[Path] = []
        if router.known_hosts:
            known.append(Path(router.known_hosts).expanduser())
        else:
            for entry in lookup(router.host).get("userknownhostsfile", "").split():
                known.append(Path(entry).expanduser())
        return cls(
            device=device,
            target=target,
            jumps=jumps,
            agent=router.auth.agent,
            password=redaction.register(router.auth.password),  # see holdtime.redaction
            known_hosts=tuple(known),
            host_key_policy=policy,
            connect_timeout_seconds=router.connect_timeout_seconds,
            command_timeout_seconds=router.command_timeout_seconds,
            netns=router.netns or None,
        )


@dataclass(frozen=True, slots=True)
class CommandOutput:
    """What one command printed and how it ended."""

    command: str
    stdout: str
    stderr: str
    exit_status: int
    duration_seconds: float

    @property
    def text(self) -> str:
        """stdout, or stderr when stdout is empty (vtysh and whack report trouble on stderr)."""
        return self.stdout if self.stdout.strip() else self.stderr


@functools.cache
def host_keys_class() -> type[paramiko.HostKeys]:
    """paramiko's HostKeys whose ``lookup`` does not build a class on every call.

    paramiko's ``HostKeys.lookup`` defines its ``SubDict`` mapping class anew each time it is
    called, and ``SSHClient.connect`` looks the server up three times (system keys, client
    keys, the server's key): three ABCMeta classes a router, each a few dozen objects in
    reference cycles that only the garbage collector frees (at 1000 routers most of the cyclic
    garbage of a check run). This one matches the entries exactly as paramiko does (its own
    ``_hostname_matches``) and answers with paramiko's own ``SubDict`` class, taken once from
    a lookup of a keyless entry; a paramiko whose lookup gives something else keeps its own.
    """
    import paramiko
    from paramiko.hostkeys import HostKeyEntry

    probe = paramiko.HostKeys()
    probe._entries.append(HostKeyEntry(["holdtime.invalid"], None))  # type: ignore[attr-defined]
    found = probe.lookup("holdtime.invalid")
    if found is None or not all(
        hasattr(found, name) for name in ("_hostname", "_entries", "_hostkeys")
    ):
        return paramiko.HostKeys
    entries_class: Any = type(found)

    class _HostKeys(paramiko.HostKeys):
        def lookup(self, hostname: str) -> Any:
            entries = [
                e
                for e in self._entries  # type: ignore[attr-defined]
                if self._hostname_matches(hostname, e)  # type: ignore[attr-defined]
            ]
            return entries_class(hostname, entries, self) if entries else None

    return _HostKeys


def _load_known_hosts(client: paramiko.SSHClient, params: SshParams, hop: Hop) -> None:
    """The hop's keys from every known_hosts file of the params (missing: fatal under `reject`).

    Only the entries for the one name paramiko will look up (``[host]:port`` off port 22) are
    handed to the client, taken from a process-wide cache of parsed files (see
    :func:`_known_hosts_file`): paramiko's own ``load_host_keys`` parses the whole file on every
    connection, about 0.3 ms a line, 0.3 s of CPU per router with a 1000-router file. The
    verification is paramiko's, on exactly the keys it would have found: in file order, first
    file first, the first key of each type winning.
    """
    import paramiko

    name = _known_hosts_name(hop)
    host_keys = client.get_host_keys()
    seen: set[str] = set()
    for path in params.known_hosts:
        try:
            found = _known_hosts_file(path).keys_for(name)
        except FileNotFoundError:
            if params.host_key_policy == "reject":
                client.close()
                raise HostKeyError(
                    f"{params.device}: known_hosts file {path} does not exist"
                ) from None
            continue
        except (OSError, paramiko.SSHException) as exc:
            client.close()
            raise HostKeyError(f"{params.device}: cannot read known_hosts {path}: {exc}") from exc
        for keytype, key in found:
            if keytype not in seen:
                seen.add(keytype)
                host_keys.add(name, keytype, key)


class _KnownHostsFile:
    """One known_hosts file as paramiko parsed it, with a memo of lookups by host name."""

    def __init__(self, path: Path) -> None:
        # paramiko's own parser (same entries), whose load looks up every line it adds
        parsed: paramiko.HostKeys = host_keys_class()(str(path))
        # (position, entry), by plain host name; hashed (|1|) names are tried one by one
        self._by_name: dict[str, list[tuple[int, Any]]] = {}
        self._hashed: list[tuple[int, str, Any]] = []
        # the parsed lines in file order: paramiko has no public accessor for them
        for position, entry in enumerate(parsed._entries):  # type: ignore[attr-defined]
            if entry.key is None:
                continue
            for host in entry.hostnames:
                if host.startswith("|1|"):
                    self._hashed.append((position, host, entry))
                else:
                    self._by_name.setdefault(host, []).append((position, entry))
        self._found: dict[str, tuple[tuple[str, paramiko.PKey], ...]] = {}
        self._lock = threading.Lock()

    def keys_for(self, name: str) -> tuple[tuple[str, paramiko.PKey], ...]:
        """(key type, key) of every entry matching the name (hashed ``|1|`` ones too), in order.

        The matching of paramiko's ``HostKeys.lookup`` (an exact name, or the HMAC-SHA1 of the
        name for a hashed entry), whose first key of each type is the one ``SSHClient.connect``
        compares with the server's; not ``lookup`` itself, which builds a new ``MutableMapping``
        class on every call (8% of holdtime's CPU at 300 routers, one known_hosts file each).
        """
        import paramiko

        with self._lock:
            cached = self._found.get(name)
        if cached is not None:
            return cached
        matched = dict(self._by_name.get(name, ()))
        if not name.startswith("|1|"):
            for position, host, entry in self._hashed:
                if position not in matched and paramiko.util.constant_time_bytes_eq(
                    paramiko.HostKeys.hash_host(name, host), host
                ):
                    matched[position] = entry
        first: dict[str, paramiko.PKey] = {}
        for _, entry in sorted(matched.items(), key=lambda item: item[0]):
            first.setdefault(entry.key.get_name(), entry.key)
        found = tuple(first.items())
        with self._lock:
            self._found[name] = found
        return found


_KNOWN_HOSTS_CACHE: dict[Path, tuple[tuple[int, int, int, int], _KnownHostsFile]] = {}
_KNOWN_HOSTS_CACHE_LOCK = threading.Lock()


def _known_hosts_file(path: Path) -> _KnownHostsFile:
    """The parsed file, re-read when its inode, size or modification time changed.

    One lock for parsing and the cache: 64 workers starting at once against one shared file
    parse it once, not 64 times.
    """
    info = path.stat()  # FileNotFoundError for a missing file, as paramiko's load raises
    version = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    with _KNOWN_HOSTS_CACHE_LOCK:
        cached = _KNOWN_HOSTS_CACHE.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        parsed = _KnownHostsFile(path)
        _KNOWN_HOSTS_CACHE[path] = (version, parsed)
        return parsed


_PRIVATE_KEYS: dict[Path, tuple[tuple[int, int, int, int], paramiko.PKey]] = {}
_PRIVATE_KEYS_LOCK = threading.Lock()


def _private_key(path: Path, device: str) -> paramiko.PKey:
    """A key file loaded once per process (re-read when it changes), as its own type.

    ``paramiko.PKey.from_path`` reads the file's type from its contents. paramiko's
    ``key_filename`` instead tries each key class in turn and reports the last attempt's error,
    so a refused RSA or ECDSA key surfaced as "encountered EC key, expected OPENSSH key".
    """
    import paramiko

    try:
        info = path.stat()
        version = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        with _PRIVATE_KEYS_LOCK:
            cached = _PRIVATE_KEYS.get(path)
            if cached is not None and cached[0] == version:
                return cached[1]
            key = paramiko.PKey.from_path(path)
            _PRIVATE_KEYS[path] = (version, key)
            return key
    except FileNotFoundError:
        raise AuthError(f"{device}: key file not found: {path}") from None
    except OSError as exc:
        raise AuthError(f"{device}: cannot read key file {path}: {exc.strerror or exc}") from None
    except (paramiko.PasswordRequiredException, TypeError) as exc:
        # cryptography says "Key is password-protected, but password was not provided." with a
        # TypeError, for OpenSSH and PEM keys alike
        if isinstance(exc, TypeError) and "password" not in str(exc).lower():
            raise AuthError(
                f"{device}: key file {path} is not a private key holdtime can use: {exc}"
            ) from None
        raise AuthError(
            f"{device}: key file {path} is encrypted and holdtime does not prompt for "
            "passphrases (use ssh-agent)"
        ) from None
    except (paramiko.SSHException, paramiko.pkey.UnknownKeyType, ValueError) as exc:
        raise AuthError(
            f"{device}: key file {path} is not a private key holdtime can use "
            f"(OpenSSH or PEM RSA, ECDSA, Ed25519): {exc or type(exc).__name__}"
        ) from None


def _ssh_config_lookup(path: Path | None, device: str) -> Callable[[str], dict[str, Any]]:
    """A function host -> ssh_config options (empty dicts when there is no file)."""
    if path is None:
        return lambda host: {}
    import paramiko

    try:
        config = paramiko.SSHConfig.from_path(str(path.expanduser()))
    except OSError as exc:
        raise ConfigError(
            f"{device}: cannot read ssh_config {path}: {exc.strerror or exc}"
        ) from exc
    except paramiko.ConfigParseError as exc:
        raise ConfigError(f"{device}: cannot parse ssh_config {path}: {exc}") from exc
    return lambda host: dict(config.lookup(host))


def _hop_from(
    lookup: Callable[[str], dict[str, Any]],
    host: str,
    port: int,
    username: str,
    explicit_keys: tuple[Path, ...],
    *,
    port_given: bool = False,
) -> Hop:
    options = lookup(host)
    config_keys = tuple(Path(k).expanduser() for k in options.get("identityfile", ()))
    # The inventory's port wins unless it is the default 22 and ssh_config says otherwise.
    if not port_given and port == 22 and "port" in options:
        port = int(options["port"])
    return Hop(
        host=host,
        hostname=str(options.get("hostname", host)),
        port=port,
        username=username or str(options.get("user", "")),
        key_files=explicit_keys or config_keys,
        host_key_alias=str(options.get("hostkeyalias", "")),
    )


def _parse_jump(
    spec: str,
    lookup: Callable[[str], dict[str, Any]],
    username: str,
    explicit_keys: tuple[Path, ...],
    device: str,
) -> Hop:
    """One ProxyJump element: ``[user@]host[:port]`` (ssh_config applies to the host)."""
    spec = spec.strip()
    user, _, hostport = spec.rpartition("@")
    host, port_given, port = hostport, False, 22
    if hostport.startswith("["):  # [2001:db8::1]:2222
        host, _, rest = hostport[1:].partition("]")
        if rest.startswith(":"):
            port_given, port = True, _port(rest[1:], spec, device)
    elif hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
        port_given, port = True, _port(port_text, spec, device)
    if not host:
        raise ConfigError(f"{device}: proxy_jump {spec!r} names no host")
    options_user = str(lookup(host).get("user", ""))
    return _hop_from(
        lookup, host, port, user or options_user or username, explicit_keys, port_given=port_given
    )


def _port(text: str, spec: str, device: str) -> int:
    if not (text.isascii() and text.isdecimal()) or not 0 < int(text) < 65536:
        raise ConfigError(f"{device}: proxy_jump {spec!r} has an invalid port")
    return int(text)


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style SHA256 fingerprint of a host key."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def _known_hosts_name(hop: Hop) -> str:
    # OpenSSH keys non-22 ports as [host]:port.
    return hop.known_as if hop.port == 22 else f"[{hop.known_as}]:{hop.port}"


def _policy(params: SshParams) -> paramiko.MissingHostKeyPolicy:
    """The missing-host-key policy for one hop (known but changed keys always fail)."""
    return _policy_class()(params)


@functools.cache
def _policy_class() -> Callable[[SshParams], paramiko.MissingHostKeyPolicy]:
    """The policy class, built once (a class per connection cost CPU at 1000 routers)."""
    import paramiko

    class _Policy(paramiko.MissingHostKeyPolicy):
        def __init__(self, params: SshParams) -> None:
            self.params = params

        def missing_host_key(
            self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
        ) -> None:
            params = self.params
            device, policy = params.device, params.host_key_policy
            where = ", ".join(str(p) for p in params.known_hosts) or "no known_hosts file"
            what = f"{key.get_name()} {fingerprint(key)}"
            if policy == "reject":
                raise HostKeyError(
                    f"{device}: host key of {hostname} is not in known_hosts ({where}); got {what}"
                )
            client.get_host_keys().add(hostname, key.get_name(), key)
            if policy == "accept-new" and params.known_hosts:
                _append_known_host(params.known_hosts[0], hostname, key)
                log.warning(
                    "%s: ACCEPTED NEW host key of %s (%s) and pinned it in %s "
                    "(host_key_policy: accept-new)",
                    device,
                    hostname,
                    what,
                    params.known_hosts[0],
                )
            else:
                log.warning(
                    "%s: ACCEPTING UNVERIFIED host key of %s (%s) (host_key_policy: %s); "
                    "this connection is open to a man in the middle",
                    device,
                    hostname,
                    what,
                    policy,
                )

    return _Policy


# AEAD ciphers first: one AES-GCM pass per packet instead of AES-CTR plus an HMAC-SHA2 that
# paramiko compares in a Python loop. The set offered is paramiko's own (nothing added, nothing
# weaker); a server without GCM still agrees on aes*-ctr as before. GCM is what OpenSSH offers
# right after chacha20-poly1305, which paramiko lacks.
_AEAD_FIRST = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")


def _transport(
    sock: Any, disabled_algorithms: dict[str, list[str]] | None = None, **gss: Any
) -> Any:
    """paramiko's Transport (SSHClient's transport_factory) with the AEAD ciphers preferred.

    paramiko before 5.0 also hands over `gss_kex` and `gss_deleg_creds` (5.0 removed GSS-API):
    passed on as given.
    """
    import paramiko

    if isinstance(sock, socket.socket):  # a ProxyJump hop's channel buffers in memory already
        sock = ReadAheadSocket(sock)
    transport = paramiko.Transport(
        sock,
        disabled_algorithms=disabled_algorithms,
        packetizer_class=packetizer_class(),
        **gss,
    )
    options = transport.get_security_options()
    offered = tuple(options.ciphers)
    options.ciphers = tuple(c for c in _AEAD_FIRST if c in offered) + tuple(
        c for c in offered if c not in _AEAD_FIRST
    )
    return transport


@functools.cache
def packetizer_class() -> type[Any]:
    """paramiko's Packetizer: handshake timeout as a deadline, padding from a random pool.

    paramiko starts a ``threading.Timer`` per connection for the handshake timeout and cancels
    it after every packet it reads (an ``Event.set`` each time); a thread started and woken per
    router, for a flag that is only ever read between reads. The same test on the clock gives
    the same answer at the same points: the timeout counts from ``start_handshake`` and ends
    with the first ``complete_handshake``, as paramiko's timer does.
    """
    from paramiko.packet import Packetizer

    class _Packetizer(Packetizer):
        def __init__(self, sock: Any) -> None:
            super().__init__(sock)
            self._handshake_deadline: float | None = None
            self._handshake_done = False
            self._padding = _RandomPool()

        def start_handshake(self, timeout: float) -> None:
            if self._handshake_deadline is None:
                self._handshake_deadline = time.monotonic() + float(timeout)

        def handshake_timed_out(self) -> bool:
            deadline = self._handshake_deadline
            return (
                deadline is not None and not self._handshake_done and time.monotonic() >= deadline
            )

        def complete_handshake(self) -> None:
            if self._handshake_deadline is not None:
                self._handshake_done = True

        def _build_packet(self, payload: bytes) -> bytes:
            # paramiko's own framing (RFC 4253 6), with the random padding taken from a pool
            # of os.urandom bytes, each byte used once: paramiko calls os.urandom for every
            # packet, a getrandom system call that gives up the GIL (27 a router).
            state = _outgoing_cipher_state(self)
            if state is None:  # another paramiko, or no random padding (no cipher, or SDCTR)
                return bytes(super()._build_packet(payload))  # type: ignore[misc]
            block_size, addlen = state
            padding = 3 + block_size - ((len(payload) + addlen) % block_size)
            header = struct.pack(">IB", len(payload) + padding + 1, padding)
            return header + payload + self._padding.take(padding)

    return _Packetizer


class _RandomPool:
    """os.urandom bytes fetched 4 KiB at a time and handed out once each (one per Packetizer).

    Only ``send_message`` builds packets, under paramiko's write lock: no lock of its own.
    """

    __slots__ = ("_at", "_pool")

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        if self._at + count > len(self._pool):
            self._pool, self._at = os.urandom(max(count, 4096)), 0
        chunk = self._pool[self._at : self._at + count]
        self._at += count
        return chunk


def _outgoing_cipher_state(packetizer: Any) -> tuple[int, int] | None:
    """(block size, length not counted in the padding) when paramiko would pad randomly.

    paramiko pads with zeros without a cipher and under SDCTR (as OpenSSH does), with
    os.urandom otherwise; its addlen is 4 under EtM and AEAD (the length is not encrypted).
    None for a paramiko whose Packetizer keeps these differently: its own code runs then.
    """
    try:
        engine = packetizer._Packetizer__block_engine_out
        sdctr = packetizer._Packetizer__sdctr_out
        block_size = int(packetizer._Packetizer__block_size_out)
        unencrypted_length = packetizer._Packetizer__etm_out or packetizer._Packetizer__aead_out
    except AttributeError:
        return None
    if engine is None or sdctr:
        return None
    return block_size, 4 if unencrypted_length else 8


_READ_AHEAD_BYTES = 65536


class ReadAheadSocket:
    """The connected socket as paramiko's transport reads it, with one read-ahead buffer.

    paramiko reads a packet in two ``recv`` calls (its first block, then the rest), each a
    system call that gives up the GIL and takes it back: at 1000 routers those hand-overs were
    a large part of holdtime's CPU. A command's answer (data, exit status, EOF, close) arrives
    as several packets at once; one ``recv`` of up to 64 KiB takes them all and the following
    reads are served from memory (`holdtime lab replay` reads its side the same way). Only the
    transport's own thread reads (banner, packets), so the buffer needs no lock. A timeout is
    the kernel's (see :meth:`settimeout`), so a read that waits is one system call, not two.
    ``send`` is one system call, and ``close`` waits for it (see :meth:`send`); everything
    else (the ``_closed`` that paramiko's ``stop_thread`` reads) is the socket's own.
    """

    __slots__ = ("_ahead", "_at", "_fd_lock", "_sock", "_timeout")

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._ahead = b""
        self._at = 0
        self._fd_lock = threading.Lock()
        self._timeout: float | None = None
        self.settimeout(sock.gettimeout())

    def settimeout(self, seconds: float | None) -> None:
        """A timeout for every read and write, kept by the kernel (SO_RCVTIMEO, SO_SNDTIMEO).

        Python keeps a socket's timeout itself: the descriptor is made non-blocking and every
        ``recv`` is a ``poll`` (waiting) and then the ``recv``, two system calls that each
        give up the GIL and take it back, and paramiko's transport thread waits in ``recv``
        for every answer (at 1000 routers, ~25 waits a router, each hand-over of the GIL a
        context switch under contention). Here the descriptor stays blocking and the kernel
        ends a wait after ``seconds`` with EAGAIN, which :meth:`recv` and :meth:`send` raise
        as the ``socket.timeout`` Python's own would. None (wait forever) and 0 (never wait)
        are the socket's own modes, as before.
        """
        self._timeout = seconds
        if seconds is None or seconds <= 0:
            self._sock.settimeout(seconds)
            kernel = 0.0
        else:
            self._sock.settimeout(None)
            kernel = seconds
        whole = int(kernel)
        wait = struct.pack("ll", whole, int((kernel - whole) * 1_000_000))
        for option in (socket.SO_RCVTIMEO, socket.SO_SNDTIMEO):
            self._sock.setsockopt(socket.SOL_SOCKET, option, wait)

    def gettimeout(self) -> float | None:
        """The timeout last set (seconds), as ``socket.gettimeout``."""
        return self._timeout

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes: buffered ones first, else one read of up to 64 KiB."""
        if self._at < len(self._ahead):
            chunk = self._ahead[self._at : self._at + size]
            self._at += len(chunk)
            return chunk
        try:
            data = self._sock.recv(max(size, _READ_AHEAD_BYTES))
        except BlockingIOError:
            if not self._timeout:
                raise  # a non-blocking socket's own "nothing yet"
            raise TimeoutError("timed out") from None  # the kernel's timeout ran out
        if len(data) <= size:
            return data
        self._ahead, self._at = data, size
        return data[:size]

    def send(self, data: bytes) -> int:
        """``socket.send`` in one system call.

        With a timeout (paramiko's 0.1 s, then holdtime's 10 s once connected) the descriptor
        is blocking and the kernel ends the wait (see :meth:`settimeout`): one ``write`` takes
        the data, or what fits before the timeout (paramiko sends the rest), or fails with
        EAGAIN, raised as ``socket.timeout`` (paramiko tries again). A closed socket's
        descriptor is -1: its own ``send`` raises as it did.

        The descriptor is written under a lock that :meth:`close` takes too: a number read
        here and closed meanwhile by another thread can belong to the next connection by the
        time of the ``write`` (the kernel reuses the lowest free number), and this session's
        bytes would go down that one: a transport thread answering the server's CLOSE while
        the session closes its socket did exactly that.
        """
        with self._fd_lock:
            fd = self._sock.fileno()
            if fd >= 0 and self._timeout:
                try:
                    return os.write(fd, data)
                except BlockingIOError:
                    raise TimeoutError("timed out") from None  # the kernel's timeout ran out
        return self._sock.send(data)

    def close(self) -> None:
        """Shut the connection down and close the socket, never during a :meth:`send`'s
        ``write`` (see there).

        The transport thread may be waiting in ``recv`` on this socket: a plain ``close``
        leaves that wait (and the TCP connection: no FIN while a system call holds the
        socket) until its timeout runs out; ``shutdown`` ends it at once, with end of file.
        """
        with self._fd_lock:
            with contextlib.suppress(OSError):  # not connected (any more): nothing to shut
                self._sock.shutdown(socket.SHUT_RDWR)
            self._sock.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


# paramiko's transport thread wakes every 0.1 s (its socket timeout) to see whether it was
# closed. A session held open through a 4 s traffic sample wakes 40 times for nothing; with
# 1000 routers in their samples that is 10000 wake-ups a second. A local close shuts the
# socket down (ReadAheadSocket.close), which ends the thread's wait at once, and data wakes
# it; nothing else needs it awake (holdtime sets no SSH keepalive). Once connected, 10 s.
_IDLE_POLL_SECONDS = 10.0


def _poll_less(client: paramiko.SSHClient) -> None:
    transport = client.get_transport()
    sock = getattr(transport, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):
            sock.settimeout(_IDLE_POLL_SECONDS)


def _append_known_host(path: Path, hostname: str, key: paramiko.PKey) -> None:
    line = f"{hostname} {key.get_name()} {key.get_base64()}\n"
    with _KNOWN_HOSTS_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(line)


def _try_more_keys(client: paramiko.SSHClient, username: str, keys: list[paramiko.PKey]) -> bool:
    """After the first key was refused, offer the others on the same transport (True: accepted).

    ``SSHClient.connect`` takes one ``pkey``; ssh_config may name several IdentityFiles.
    """
    import paramiko

    transport = client.get_transport()
    for key in keys:
        if transport is None or not transport.is_active():
            return False
        try:
            transport.auth_publickey(username, key)
        except paramiko.AuthenticationException:
            continue
        if transport.is_authenticated():
            return True
    return False


def _caused_by_timeout(exc: BaseException) -> bool:
    """True if a socket timeout is anywhere in the exception's cause/context chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TimeoutError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _is_reset(exc: BaseException) -> bool:
    """True for failures that mean the TCP/SSH connection went away under us."""
    import paramiko

    if isinstance(exc, ConnectionResetError | BrokenPipeError | EOFError | ConnectionAbortedError):
        return True
    return isinstance(exc, paramiko.SSHException) and "not active" in str(exc).lower()


def _exec(channel: Any, command: str) -> None:
    """Send the exec request without waiting for its reply (paramiko's exec_command waits).

    The reply still comes (want-reply is set, as OpenSSH's client sets it) and paramiko's
    transport records it on the channel (``event_ready``); the caller reads the command's
    output, EOF and exit status next, which a device sends only for a command it runs. A
    refusal closes the channel without an exit status: :meth:`SshSession._run_once` then
    raises what ``exec_command`` would have. Not waiting saves a wake-up of the worker thread
    (a GIL hand-over) per command.
    """
    from paramiko.common import cMSG_CHANNEL_REQUEST
    from paramiko.message import Message

    message = Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("exec")
    message.add_boolean(True)
    message.add_string(command)
    channel._event_pending()
    channel.transport._send_user_message(message)


def _ssh_exception(transport: Any) -> BaseException:
    """The exception paramiko's ``Channel._wait_for_event`` raises for a refused request."""
    import paramiko

    error = transport.get_exception()
    return error if error is not None else paramiko.SSHException("Channel closed.")


class _Readable:
    """Set when a channel's output is worth reading: at its end (EOF, close) or 512 KiB buffered.

    What ``Channel.fileno()`` offers ``select``, without its OS pipe (two file descriptors per
    channel, a write and a read of the pipe for every packet, each a system call that gives up
    the GIL), and without waking the reading thread for every packet: a command's answer comes
    as several (stdout, stderr, exit status, EOF) and is read once, at its end. An output
    larger than that is still read as it arrives, long before it fills the SSH window (2 MB),
    so a command that floods either stream never stalls. paramiko's buffers set and clear one
    half each (``set_event``), as they do for its ``OrPipe``.
    """

    __slots__ = ("_halves", "_lock", "_ready", "event")

    def __init__(self, channel: Any) -> None:
        self.event = threading.Event()
        self._lock = threading.Lock()
        self._ready = [False, False]
        self._halves: tuple[_Half, ...] = (
            _Half(self, 0, channel.in_buffer),
            _Half(self, 1, channel.in_stderr_buffer),
        )
        channel.in_buffer.set_event(self._halves[0])
        channel.in_stderr_buffer.set_event(self._halves[1])

    def __enter__(self) -> _Readable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()

    def release(self) -> None:
        """Once the output is read: each buffer and its half no longer hold each other.

        A buffer holds its half (as its event) and the half its buffer: a reference cycle per
        stream, two per command, that only the garbage collector would free (each with the
        buffer's lock, condition and array: most of the cyclic garbage a check run made). A
        packet arriving after this (the server's CLOSE) only marks the half ready.
        """
        for half in self._halves:
            half.release()
        self._halves = ()  # nor this and its halves

    def mark(self, index: int, ready: bool) -> None:
        with self._lock:
            self._ready[index] = ready
            if ready:
                self.event.set()
            elif not any(self._ready):
                self.event.clear()


_WAKE_BYTES = 512 * 1024


class _Half:
    """One buffer's side of a :class:`_Readable` (the Event interface paramiko calls).

    paramiko calls ``set`` holding the buffer's lock, before it appends the new data, and on
    close; the buffer's own ``_closed`` and ``_buffer`` tell which (read without its lock, which
    the caller holds). A paramiko without them wakes the reader on every packet, as before.
    """

    __slots__ = ("_both", "_index", "_pipe")

    def __init__(self, both: _Readable, index: int, pipe: Any) -> None:
        self._both = both
        self._index = index
        self._pipe: Any = pipe

    def release(self) -> None:
        self._pipe = None

    def set(self) -> None:
        pipe = self._pipe
        closed, buffered = getattr(pipe, "_closed", True), getattr(pipe, "_buffer", None)
        if closed or buffered is None or len(buffered) >= _WAKE_BYTES:
            self._both.mark(self._index, True)

    def clear(self) -> None:
        self._both.mark(self._index, False)


class SshSession:
    """One SSH connection to one device; ``run`` commands on it; close at the end.

    Use as a context manager. A command that finds the connection reset reconnects once and
    retries once; a second failure is a ConnectError.
    """

    def __init__(
        self,
        params: SshParams,
        *,
        socket_factory: SocketFactory = netns.create_connection,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.params = params
        self._socket_factory = socket_factory
        self._clock = clock
        self._clients: list[paramiko.SSHClient] = []
        self.connects = 0  # how many times a connection was (re)established, for tests/bench
        self._started: list[RemoteProcess] = []  # commands from start(), never reaped by _stop

    def __enter__(self) -> SshSession:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while the connection to the device is up."""
        if not self._clients:
            return False
        transport = self._clients[-1].get_transport()
        return bool(transport and transport.is_active())

    def connect(self) -> None:
        """Open the connection (through every ProxyJump hop), verifying host keys."""
        self.close()
        hops = (*self.params.jumps, self.params.target)
        sock: Any = None
        try:
            for index, hop in enumerate(hops):
                if index == 0:
                    sock = self._first_socket(hop)
                else:
                    sock = self._channel_to(hop, hops[index - 1])
                self._clients.append(self._client_over(hop, sock))
        except BaseException:
            self.close()
            raise
        self.connects += 1

    def _first_socket(self, hop: Hop) -> socket.socket:
        params = self.params
        try:
            sock = self._socket_factory(
                (hop.hostname, hop.port), params.connect_timeout_seconds, params.netns
            )
            # Many small request/response packets: without this, Nagle plus the peer's delayed
            # ACK adds ~40 ms to every command (measured against the lab's sshd).
            with contextlib.suppress(OSError, AttributeError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except TimeoutError as exc:
            raise ConnectError(
                f"{params.device}: connect to {hop.hostname}:{hop.port} timed out after "
                f"{params.connect_timeout_seconds:g} s"
            ) from exc
        except socket.gaierror as exc:
            raise ConnectError(
                f"{params.device}: cannot resolve {hop.hostname}: {exc.strerror or exc}"
            ) from exc
        except OSError as exc:
            raise ConnectError(
                f"{params.device}: cannot connect to {hop.hostname}:{hop.port}: "
                f"{exc.strerror or exc}"
            ) from exc

    def _channel_to(self, hop: Hop, via: Hop) -> Any:
        import paramiko

        transport = self._clients[-1].get_transport()
        if transport is None:
            raise ConnectError(f"{self.params.device}: jump host {via.host} closed the connection")
        try:
            return transport.open_channel(
                "direct-tcpip",
                (hop.hostname, hop.port),
                ("127.0.0.1", 0),
                timeout=self.params.connect_timeout_seconds,
            )
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise ConnectError(
                f"{self.params.device}: jump host {via.host} could not reach "
                f"{hop.hostname}:{hop.port}: {exc or type(exc).__name__}"
            ) from exc

    def _client_over(self, hop: Hop, sock: Any) -> paramiko.SSHClient:
        import paramiko

        capture_paramiko_logging()
        params = self.params
        client = paramiko.SSHClient()
        keys_class = host_keys_class()
        client._system_host_keys = keys_class()  # type: ignore[attr-defined]  # both empty
        client._host_keys = keys_class()  # type: ignore[attr-defined]
        try:
            _load_known_hosts(client, params, hop)
            keys = (
                [_private_key(k, params.device) for k in hop.key_files]
                if hop.key_files and not params.agent
                else []
            )
        except (HostKeyError, AuthError):
            with contextlib.suppress(OSError):
                sock.close()  # not yet owned by a transport that client.close() would end
            raise
        client.set_missing_host_key_policy(_policy(params))
        # paramiko looks the host key up by the name it is given; the socket is already
        # connected, so pass the name known_hosts is keyed by.
        kwargs: dict[str, Any] = {
            "hostname": hop.known_as,
            "port": hop.port,
            "username": hop.username,
            "sock": sock,
            "timeout": params.connect_timeout_seconds,
            "banner_timeout": params.connect_timeout_seconds,
            "auth_timeout": params.connect_timeout_seconds,
            "channel_timeout": params.connect_timeout_seconds,
            "allow_agent": params.agent,
            "look_for_keys": False,
        }
        kwargs["transport_factory"] = _transport
        if keys:
            kwargs["pkey"] = keys[0]
        if params.password is not None:
            kwargs["password"] = params.password
        name = f"{hop.host}" + (
            f" via {params.jumps[0].host}" if hop is params.target and params.jumps else ""
        )
        began = self._clock()
        try:
            try:
                client.connect(**kwargs)
            except paramiko.AuthenticationException:
                if not _try_more_keys(client, hop.username, keys[1:]):
                    raise
        except HostKeyError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyError(
                f"{params.device}: host key of {_known_hosts_name(hop)} does NOT match "
                "known_hosts: "
                f"expected {exc.expected_key.get_name()} {fingerprint(exc.expected_key)}, "
                f"got {exc.key.get_name()} {fingerprint(exc.key)} (possible man in the middle)"
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            raise AuthError(
                f"{params.device}: authentication as {hop.username!r} on {name} failed "
                f"({self._auth_method()}): {exc}"
            ) from exc
        except (paramiko.SSHException, OSError, EOFError) as exc:
            transport = client.get_transport()
            banner_seen = bool(transport is not None and transport.remote_version)
            client.close()
            raise self._handshake_error(
                exc, name, banner_seen=banner_seen, elapsed=self._clock() - began
            ) from exc
        _poll_less(client)
        return client

    def _handshake_error(
        self, exc: BaseException, name: str, *, banner_seen: bool, elapsed: float
    ) -> ConnectError:
        """One line for a failed handshake, saying whether the server ever sent its banner.

        paramiko gives "Error reading SSH protocol banner" or, when its own wait ends first,
        "No existing session" for a server that accepts TCP and stays silent: neither says what
        happened, so the transport's ``remote_version`` (set when the banner arrives) decides.
        """
        device, timeout = self.params.device, self.params.connect_timeout_seconds
        # paramiko's "No existing session" after its own wait ran out carries no timeout.
        timed_out = _caused_by_timeout(exc) or elapsed >= timeout * 0.9
        if not banner_seen:
            if timed_out:
                return ConnectError(
                    f"{device}: timed out after {timeout:g} s waiting for the SSH banner of {name}"
                )
            return ConnectError(
                f"{device}: {name} closed the connection without sending an SSH banner"
            )
        if timed_out:
            return ConnectError(
                f"{device}: SSH handshake with {name} timed out after {timeout:g} s"
            )
        return ConnectError(
            f"{device}: SSH handshake with {name} failed: {exc or type(exc).__name__}"
        )

    def _auth_method(self) -> str:
        if self.params.agent:
            return "ssh-agent"
        if self.params.password is not None:
            return "password"
        return "key file"

    def run(self, command: str, timeout_seconds: float | None = None) -> CommandOutput:
        """Run one shell command line; reconnect and retry once if the connection was reset."""
        if not self.connected:
            self.connect()
        try:
            return self._run_once(command, timeout_seconds)
        except TransportError:
            raise
        except Exception as exc:
            if not _is_reset(exc) or _exiting.is_set():
                raise ConnectError(f"{self.params.device}: `{command}` failed: {exc}") from exc
            log.info(
                "%s: connection reset during `%s`; reconnecting once", self.params.device, command
            )
        self.connect()
        try:
            return self._run_once(command, timeout_seconds)
        except TransportError:
            raise
        except Exception as exc:
            raise ConnectError(
                f"{self.params.device}: connection lost again during `{command}` after a "
                f"reconnect: {exc or type(exc).__name__}"
            ) from exc

    def _run_once(
        self, command: str, timeout_seconds: float | None, *, end_on_timeout: bool = True
    ) -> CommandOutput:
        timeout = timeout_seconds or self.params.command_timeout_seconds
        began = self._clock()
        deadline = began + timeout
        transport = self._clients[-1].get_transport()
        if transport is None or not transport.is_active():
            raise ConnectionResetError("SSH session not active")
        with _IN_FLIGHT_LOCK:
            if _exiting.is_set() and end_on_timeout:
                raise ConnectError(
                    f"{self.params.device}: `{command}` not sent: holdtime is exiting"
                )
        channel = transport.open_session(timeout=timeout)
        if end_on_timeout:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT[id(channel)] = (self, channel, command)
        try:
            _exec(channel, command)
            stdout, stderr = self._drain(channel, deadline)
            if stdout is None or not channel.status_event.wait(max(0.0, deadline - self._clock())):
                if end_on_timeout:
                    self._stop(channel, command)
                self._timed_out(command, timeout)
            status = channel.recv_exit_status()
            if status == -1 and not transport.is_active():
                # paramiko reports -1 when the channel closed without an exit status: the
                # connection went away mid-command (sshd killed, TCP reset).
                raise ConnectionResetError("connection closed before the command finished")
            if status == -1 and not channel.event_ready:
                # The device refused the exec request (its failure reply closed the channel):
                # what paramiko's exec_command raises, which run() reports as before.
                raise _ssh_exception(transport)
        finally:
            with _IN_FLIGHT_LOCK:
                _IN_FLIGHT.pop(id(channel), None)
            # CLOSE alone ends a channel (RFC 4254 5.3); paramiko would send an EOF before it,
            # one more packet per command for both sides to encrypt, send and read.
            channel.eof_sent = True
            channel.close()
        return CommandOutput(
            command=command,
            stdout=bytes(stdout).decode("utf-8", errors="replace"),
            stderr=bytes(stderr).decode("utf-8", errors="replace"),
            exit_status=status,
            duration_seconds=self._clock() - began,
        )

    def _drain(self, channel: Any, deadline: float) -> tuple[bytearray | None, bytearray]:
        """Read stdout and stderr together until end of output; stdout None on the deadline.

        Reading stdout to its end before stderr stalls a command that writes more than the SSH
        window (2 MB) to stderr: its sshd waits for us to read, we wait for its stdout to end.
        """
        stdout, stderr = bytearray(), bytearray()
        # set at the end of the output, or when it is large; released however the read ends
        with _Readable(channel) as wakeup:
            while True:
                while channel.recv_ready():
                    stdout += channel.recv(65536)
                while channel.recv_stderr_ready():
                    stderr += channel.recv_stderr(65536)
                if channel.eof_received or channel.closed:
                    # EOF closes both buffers: take what arrived between the reads above and now.
                    while chunk := channel.recv(65536):
                        stdout += chunk
                    while chunk := channel.recv_stderr(65536):
                        stderr += chunk
                    return stdout, stderr
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return None, stderr
                wakeup.event.wait(remaining)

    def _stop(self, channel: Any, command: str) -> None:
        """End a command that overran its timeout so nothing of it keeps running on the device.

        Closing the channel alone leaves a command that writes nothing (``sleep``, a hung vtysh)
        running for ever. First an RFC 4254 ``signal`` request: OpenSSH (7.9+) delivers it with
        ``killpg`` to the command's whole process group, but only with privilege separation,
        which it skips for root logins, and never to forced commands. If the command is still
        there, a fixed shell line on a new channel signals the other sessions of this
        connection (TERM, then KILL), unless a :meth:`start`-ed command shares the connection.
        """
        device = self.params.device
        if channel.closed or channel.status_event.is_set():
            return
        # Refused signal requests get no answer (asking for one makes paramiko close the
        # channel), so both ways are tried at once, TERM first, then KILL.
        reap = not any(not process.finished for process in self._started)
        for name in ("TERM", "KILL"):
            _send_signal(channel, name)
            if reap:
                try:
                    line = _REAP_SIBLINGS.format(signal=name)
                    self._run_once(line, self.params.connect_timeout_seconds, end_on_timeout=False)
                except Exception as exc:  # best effort: the timeout is reported either way
                    log.debug("%s: cannot end `%s` on the device: %s", device, command, exc)
                    reap = False
            if channel.status_event.wait(_SIGNAL_GRACE_SECONDS):
                log.debug("%s: `%s` ended after SIG%s", device, command, name)
                return
        log.debug("%s: `%s` may still run on the device", device, command)

    def start(self, command: str, *, pty: bool = False) -> RemoteProcess:
        """Start a long-running command (e.g. a router's own ping) and return it unread.

        With ``pty`` the command gets a terminal: its output arrives line by line, ``interrupt``
        delivers Ctrl-C (SIGINT) as an operator's keyboard would, and if this connection dies
        the device's sshd hangs the terminal up (SIGHUP), so nothing keeps running after us.
        """
        if not self.connected:
            self.connect()
        transport = self._clients[-1].get_transport()
        if transport is None or not transport.is_active():
            raise ConnectError(f"{self.params.device}: SSH session not active")
        try:
            channel = transport.open_session(timeout=self.params.connect_timeout_seconds)
            if pty:
                # A wide, dumb terminal: no wrapping, no colour, no line editing.
                channel.get_pty(term="dumb", width=1000, height=24)
            channel.exec_command(command)
        except Exception as exc:
            raise ConnectError(
                f"{self.params.device}: cannot start `{command}`: {exc or type(exc).__name__}"
            ) from exc
        process = RemoteProcess(self.params.device, command, channel)
        self._started = [p for p in self._started if not p.finished] + [process]
        return process

    def _timed_out(self, command: str, timeout: float) -> NoReturn:
        raise CommandTimeout(
            f"`{command}` did not finish within {timeout:g} s", device=self.params.device
        )

    def close(self) -> None:
        """Close every hop, innermost first (safe to call twice)."""
        while self._clients:
            client = self._clients.pop()
            try:
                client.close()
            except Exception as exc:  # closing must never mask the real outcome
                log.debug("%s: error while closing: %s", self.params.device, exc)


# Commands running right now, so that an exit (Ctrl-C of `holdtime check`) does not leave them
# running on their devices: the worker threads are daemons and die with the process.
_IN_FLIGHT: dict[int, tuple[SshSession, Any, str]] = {}
_IN_FLIGHT_LOCK = threading.Lock()
_EXIT_GRACE_SECONDS = 5.0
_exiting = threading.Event()  # set at exit: no new command, no reconnect


def _end_in_flight_commands() -> None:
    """At interpreter exit, end every command still running on a device (in parallel, bounded).

    Registered when paramiko is first imported, after paramiko's own exit hook, so that it runs
    before that hook stops every transport thread.
    """
    with _IN_FLIGHT_LOCK:
        _exiting.set()
        running = list(_IN_FLIGHT.values())
    threads = [
        threading.Thread(target=session._stop, args=(channel, command), daemon=True)
        for session, channel, command in running
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + _EXIT_GRACE_SECONDS
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


# A fixed command (no inventory input) that ends the other sessions of this connection: every
# session's shell is a child of the connection's sshd process, $PPID here; each leads its own
# process group. Sent with each signal request, which sshd refuses for root logins (see _stop).
_REAP_SIBLINGS = (
    'for p in $(pgrep -P "$PPID"); do [ "$p" = "$$" ] || kill -{signal} -- "-$p"; done '
    "2>/dev/null; true"
)
_SIGNAL_GRACE_SECONDS = 0.5


def _send_signal(channel: Any, name: str) -> None:
    """Send an RFC 4254 section 6.9 ``signal`` channel request (paramiko has no API for it)."""
    from paramiko.common import cMSG_CHANNEL_REQUEST
    from paramiko.message import Message

    message = Message()
    message.add_byte(cMSG_CHANNEL_REQUEST)
    message.add_int(channel.remote_chanid)
    message.add_string("signal")
    message.add_boolean(False)  # no reply: paramiko closes the channel on a failure reply
    message.add_string(name)
    try:
        channel.transport._send_user_message(message)
    except (OSError, EOFError, AttributeError) as exc:
        log.debug("cannot send SIG%s: %s", name, exc)


class RemoteProcess:
    """A command running on a device, started by :meth:`SshSession.start`."""

    def __init__(self, device: str, command: str, channel: Any) -> None:
        self.device = device
        self.command = command
        self._channel = channel

    def read(self, timeout_seconds: float) -> bytes | None:
        """Output that arrived within the timeout: b"" when none yet, None at end of output."""
        self._channel.settimeout(timeout_seconds)
        try:
            data: bytes = self._channel.recv(65536)
        except TimeoutError:
            return b""
        except OSError as exc:
            raise ConnectError(f"{self.device}: `{self.command}`: {exc}") from exc
        return data or None

    @property
    def finished(self) -> bool:
        """True once the command exited or its channel closed."""
        return bool(self._channel.closed or self._channel.exit_status_ready())

    def interrupt(self) -> None:
        """Ctrl-C on the command's terminal (needs ``pty=True``)."""
        with contextlib.suppress(OSError, EOFError):
            self._channel.send(b"\x03")

    def exit_status(self, timeout_seconds: float) -> int | None:
        """The command's exit status, or None if it has not exited within the timeout."""
        if not self._channel.status_event.wait(timeout_seconds):
            return None
        return int(self._channel.recv_exit_status())

    def close(self) -> None:
        """Close the channel (with a pty, a command still running gets SIGHUP)."""
        with contextlib.suppress(Exception):
            self._channel.close()
