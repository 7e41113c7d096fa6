"""`holdtime lab replay DIR`: serve a recording (holdtime record) as SSH servers on loopback.

One process serves every router of the recording, or N copies of one router: each on its own
port of 127.0.0.1 with its own generated host key (ECDSA P-256: generated in about a
millisecond, so 1000 routers start at once). It writes a client key, a known_hosts file and an
inventory that points holdtime at the servers, like `holdtime lab inventory`.

Why paramiko's server side: it is already a dependency (holdtime's client is paramiko), it runs
in one process with no root, no sshd binary and no shell per command, and it hands each exec
request to Python, where the answer is a lookup. OpenSSH with a forced command would fork a
shell and a Python per command (the device CPU the replay exists to remove); asyncssh would add
a dependency for the same result.

Answers: an exec request is matched against the recorded command lines exactly (the batched
``vtysh -E -c ... -c ...`` and ``sudo -n`` prefixes included). The k-th time a connection sends
a line it gets the k-th recorded answer for that line (the second IPsec read of the traffic
sample gets the second, later counters), then the last one again. A recorded command timeout
is replayed as a command that never ends. A line that is not in the recording gets what a shell
gives for a command it cannot run: exit status 127 and ``NAME: WORD: command not found`` on
stderr. 127 rather than an allowlist refusal, because the refusal of a command outside the
allowlist happens in holdtime before anything is sent (probes/commands.py): on the device side
the only faithful answer is "this device cannot run that", which is also what makes the probe's
own fallbacks (swanctl missing -> stroke) take the path a router without that tool takes.

Faults (``--faults "NAME=KIND[:SECONDS],..."``), each for that router only:

- ``delay:S``  every command is answered S seconds late (over the command timeout: ERROR
  "did not finish within" on every check of the router);
- ``hang``     the connection is accepted and nothing is ever sent (ERROR "timed out after N s
  waiting for the SSH banner");
- ``reset``    the first command of every connection gets a TCP reset (holdtime reconnects
  once, then ERROR "connection lost again during ... after a reconnect");
- ``garbage``  every command exits 0 with binary garbage (ERROR "could not evaluate" through
  the parsers' errors);
- ``auth``     every authentication is refused (ERROR "authentication as ... failed");
- ``hostkey``  the server presents another host key than known_hosts holds (ERROR "host key
  ... does NOT match known_hosts").

Traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import resource
import selectors
import socket
import struct
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from holdtime.errors import ConfigError
from holdtime.record import Recorded, Recording, RouterRecording

if TYPE_CHECKING:
    import paramiko

FAULT_KINDS = ("delay", "hang", "reset", "garbage", "auth", "hostkey")
USERNAME = "holdtime"
LISTEN = "127.0.0.1"
# Garbage a parser cannot take for anything: NULs, invalid UTF-8, a terminal escape, no JSON.
GARBAGE = b"\x00\xff\xfe\x1b[2J}{ ::: \xc3\x28 garbage %%% \x00\n\x7f\x80 ]][[\n"

log = logging.getLogger("holdtime.replay")


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected fault of one served router."""

    kind: str
    seconds: float = 0.0


def parse_faults(spec: str, names: Sequence[str]) -> dict[str, Fault]:
    """``NAME=KIND[:SECONDS],...`` -> {name: Fault}; ConfigError naming the bad element."""
    faults: dict[str, Fault] = {}
    for raw in (part.strip() for part in spec.split(",")):
        if not raw:
            continue
        name, sep, what = raw.partition("=")
        kind, _, seconds_text = what.partition(":")
        if not sep or not name or not kind:
            raise ConfigError(f"--faults {raw!r}: write NAME=KIND[:SECONDS], e.g. esg1=delay:2")
        if name not in names:
            raise ConfigError(
                f"--faults {raw!r}: no served router {name!r} (serving {_names_hint(names)})"
            )
        if kind not in FAULT_KINDS:
            raise ConfigError(f"--faults {raw!r}: {kind!r} is not one of {', '.join(FAULT_KINDS)}")
        seconds = 0.0
        if kind == "delay":
            try:
                seconds = float(seconds_text)
            except ValueError:
                raise ConfigError(
                    f"--faults {raw!r}: delay needs seconds, e.g. {name}=delay:2"
                ) from None
            if not 0 < seconds <= 3600:
                raise ConfigError(f"--faults {raw!r}: delay must be within 0..3600 s")
        elif seconds_text:
            raise ConfigError(f"--faults {raw!r}: {kind} takes no value")
        faults[name] = Fault(kind, seconds)
    return faults


def _names_hint(names: Sequence[str]) -> str:
    shown = ", ".join(names[:5])
    return shown + (f" ... ({len(names)} routers)" if len(names) > 5 else "")


@dataclass(slots=True)
class Served:
    """One router as served: its recording, listening socket, keys and fault."""

    name: str
    recording: RouterRecording
    answers: Mapping[str, tuple[Recorded, ...]]
    listener: socket.socket
    host_key: paramiko.PKey
    fault: Fault | None = None
    wrong_key: paramiko.PKey | None = None  # the hostkey fault's key

    @property
    def port(self) -> int:
        return int(self.listener.getsockname()[1])


def _answers(recording: RouterRecording) -> dict[str, tuple[Recorded, ...]]:
    by_line: dict[str, list[Recorded]] = {}
    for entry in recording.commands:
        if entry.exit_status is None and not entry.timed_out:
            continue  # a connection failure during recording: nothing to answer with
        by_line.setdefault(entry.command, []).append(entry)
    return {line: tuple(entries) for line, entries in by_line.items()}


@dataclass(slots=True)
class Stats:
    """What the replay served (for the bench and the tests)."""

    connections: int = 0
    commands: int = 0
    refused: list[str] = field(default_factory=list)  # lines not in the recording


class Replay:
    """Serve routers of a recording until :meth:`close` (also a context manager)."""

    def __init__(
        self,
        recording: Recording,
        state: Path,
        *,
        copies: int = 0,
        router: str = "",
        prefix: str = "",
        faults: str = "",
        known_hosts_per_router: bool = False,
    ) -> None:
        import paramiko

        _quiet_paramiko()
        self.known_hosts_per_router = known_hosts_per_router
        self.state = state
        self.recording_path = recording.path
        self.stats = Stats()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._hung: list[socket.socket] = []
        self._transports: list[paramiko.Transport] = []
        sources = self._sources(recording, copies, router, prefix)
        _raise_file_limit(len(sources) * 3 + 64)
        fault_map = parse_faults(faults, [name for name, _ in sources])
        self.routers: list[Served] = []
        try:
            for name, source in sources:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                listener.bind((LISTEN, 0))
                listener.listen(128)
                listener.setblocking(False)
                fault = fault_map.get(name)
                self.routers.append(
                    Served(
                        name=name,
                        recording=source,
                        answers=_answers(source),
                        listener=listener,
                        host_key=paramiko.ECDSAKey.generate(),
                        fault=fault,
                        wrong_key=paramiko.ECDSAKey.generate()
                        if fault and fault.kind == "hostkey"
                        else None,
                    )
                )
            self.client_key, self._client_key_text = _ed25519_key()
            self.inventory_path = self._write_state()
        except BaseException:
            self._close_listeners()
            raise
        self._selector = selectors.DefaultSelector()
        for served in self.routers:
            self._selector.register(served.listener, selectors.EVENT_READ, served)
        self._thread = threading.Thread(target=self._accept_loop, name="replay-accept", daemon=True)
        self._thread.start()

    # -- setup ----------------------------------------------------------------------------
    @staticmethod
    def _sources(
        recording: Recording, copies: int, router: str, prefix: str
    ) -> list[tuple[str, RouterRecording]]:
        if not recording.routers:
            raise ConfigError(f"{recording.path}: the recording holds no router")
        if copies:
            if router:
                source = recording.router(router)
            elif len(recording.routers) == 1:
                source = recording.routers[0]
            else:
                names = ", ".join(r.name for r in recording.routers)
                raise ConfigError(
                    f"{recording.path}: --copies needs --router NAME (the recording has {names})"
                )
            stem = prefix or "r"
            width = max(3, len(str(copies)))
            return [(f"{stem}{index:0{width}d}", source) for index in range(1, copies + 1)]
        chosen = [recording.router(router)] if router else list(recording.routers)
        return [(f"{prefix}{r.name}", r) for r in chosen]

    def _write_state(self) -> Path:
        """client_key, known_hosts and inventory.yaml in the state folder (atomically)."""
        self.state.mkdir(parents=True, exist_ok=True)
        key_path = self.state / "client_key"
        _write_private(key_path, self._client_key_text)
        known_hosts = self.state / "known_hosts"
        lines = {
            s.name: f"[{LISTEN}]:{s.port} {s.host_key.get_name()} {s.host_key.get_base64()}\n"
            for s in self.routers
        }
        known_hosts.write_text("".join(lines.values()))
        if self.known_hosts_per_router:
            # paramiko parses a whole known_hosts file on every connection (about 0.3 ms per
            # line): with 1000 routers in one file that is the cost that dominates a check run.
            (self.state / "known_hosts.d").mkdir(exist_ok=True)
            for name, line in lines.items():
                (self.state / "known_hosts.d" / name).write_text(line)
        routers = []
        for served in self.routers:
            own = self.state / "known_hosts.d" / served.name
            routers.append(
                {
                    "name": served.name,
                    "host": LISTEN,
                    "port": served.port,
                    "username": USERNAME,
                    "auth": {"key_file": str(key_path)},
                    "known_hosts": str(own if self.known_hosts_per_router else known_hosts),
                    **{k: v for k, v in served.recording.entry.items() if k != "name"},
                }
            )
        header = (
            f"# Written by `holdtime lab replay {self.recording_path}`: "
            f"{len(self.routers)} replayed routers on {LISTEN}, host keys in {known_hosts}.\n"
        )
        inventory = self.state / "inventory.yaml"
        partial = self.state / "inventory.yaml.partial"
        partial.write_text(
            header + yaml.safe_dump({"version": 1, "routers": routers}, sort_keys=False, width=100)
        )
        os.replace(partial, inventory)  # readers never see half a file
        return inventory

    # -- serving --------------------------------------------------------------------------
    def _accept_loop(self) -> None:
        while not self._closing.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                if isinstance(key.data, Served):
                    self._accept(key.data)
                else:  # a hung connection became readable: its client went away
                    self._drop_hung(key.fileobj)

    def _accept(self, served: Served) -> None:
        try:
            sock, _ = served.listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.debug("%s: accept failed: %s", served.name, exc)
            return
        sock.setblocking(True)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.stats.connections += 1
        if served.fault and served.fault.kind == "hang":
            sock.setblocking(False)
            with self._lock:
                self._hung.append(sock)
            self._selector.register(sock, selectors.EVENT_READ, None)
            return
        self._start_transport(served, sock)

    def _drop_hung(self, sock: Any) -> None:
        try:
            data = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            return  # the client's banner: keep saying nothing
        self._selector.unregister(sock)
        with self._lock:
            if sock in self._hung:
                self._hung.remove(sock)
        sock.close()

    def _start_transport(self, served: Served, sock: socket.socket) -> None:
        import paramiko

        from holdtime.probes.ssh import ReadAheadSocket, packetizer_class

        # The client's economies, on the server side: one recv for several packets, no
        # handshake Timer thread per connection.
        reader: Any = ReadAheadSocket(sock)  # socket-like: paramiko's hints name socket only
        transport = _transport_class()(reader, packetizer_class=packetizer_class())
        transport.add_server_key(served.wrong_key or served.host_key)
        try:
            # With an event, start_server returns at once: key exchanges run in parallel in
            # each transport's own thread instead of one after another in this loop.
            transport.start_server(event=threading.Event(), server=_Server(self, served))
        except (paramiko.SSHException, OSError, EOFError) as exc:
            log.debug("%s: SSH start failed: %s", served.name, exc)
            transport.close()
            return
        with self._lock:
            self._transports = [t for t in self._transports if t.is_active()] + [transport]

    def answer(self, served: Served, channel: paramiko.Channel, line: str, seen: int) -> None:
        """Send the recorded answer to one exec request (called in the transport's thread)."""
        with self._lock:
            self.stats.commands += 1
        fault = served.fault
        if fault and fault.kind == "reset":
            _reset(channel.get_transport())
            return
        if fault and fault.kind == "garbage":
            self._send(channel, GARBAGE, b"", 0, 0.0)
            return
        entries = served.answers.get(line)
        if not entries:
            # Refused at once, also with a delay fault: holdtime's way of ending a command
            # that timed out (a fixed kill line, probes/ssh.py) is in no recording.
            with self._lock:
                self.stats.refused.append(f"{served.name}: {line}")
            word = line.split(maxsplit=1)[0] if line.split() else line
            message = f"{served.name}: {word}: command not found\n"
            self._send(channel, b"", message.encode(), 127, 0.0)
            return
        delay = fault.seconds if fault and fault.kind == "delay" else 0.0
        entry = entries[min(seen, len(entries) - 1)]
        if entry.timed_out:
            return  # never answered: the client's command timeout ends it
        status = entry.exit_status if entry.exit_status is not None else 255
        self._send(channel, entry.stdout.encode(), entry.stderr.encode(), status, delay)

    def _send(
        self, channel: paramiko.Channel, stdout: bytes, stderr: bytes, status: int, delay: float
    ) -> None:
        # Data, exit status and EOF may go out before the reply to the exec request (the reply
        # follows when this callback returns): paramiko's client buffers them. The CLOSE goes
        # after that reply, as sshd's does once the command has exited (a CLOSE before the
        # reply fails paramiko's exec_command; without one, OpenSSH's ssh and asyncssh wait
        # forever): `_request_then_close` sends it once the reply is out.
        if delay > 0 or len(stdout) + len(stderr) > channel.out_window_size // 2:
            # A delayed or a window-sized answer must not hold the transport thread (it reads
            # the client's window adjustments): a thread of its own.
            replied = threading.Event()
            channel.holdtime_replied = replied  # type: ignore[attr-defined]
            threading.Thread(
                target=self._deliver,
                args=(channel, stdout, stderr, status, delay, replied),
                name="replay-answer",
                daemon=True,
            ).start()
            return
        self._deliver(channel, stdout, stderr, status, 0.0, None)
        channel.holdtime_close_after_reply = True  # type: ignore[attr-defined]

    def _deliver(
        self,
        channel: paramiko.Channel,
        stdout: bytes,
        stderr: bytes,
        status: int,
        delay: float,
        replied: threading.Event | None,
    ) -> None:
        if delay > 0 and self._closing.wait(delay):
            return
        try:
            if stdout:
                channel.sendall(stdout)
            if stderr:
                channel.sendall_stderr(stderr)
            channel.send_exit_status(status)
            channel.shutdown_write()
            if replied is not None and replied.wait(REPLY_WAIT_SECONDS):
                channel.close()
        except (OSError, EOFError) as exc:  # the client gave up (its timeout) meanwhile
            log.debug("answer not delivered: %s", exc)
        except Exception as exc:  # paramiko.SSHException: channel closed under us
            log.debug("answer not delivered: %s", exc)

    # -- the end ----------------------------------------------------------------------------
    def close(self) -> None:
        """Stop accepting, end every connection, release the ports."""
        self._closing.set()
        self._thread.join(timeout=5)
        with self._lock:
            transports, self._transports = self._transports, []
            hung, self._hung = self._hung, []
        for transport in transports:
            # shutdown, unlike close, wakes the transport thread's blocked read at once
            with contextlib.suppress(OSError):
                transport.sock.shutdown(socket.SHUT_RDWR)
        for transport in transports:
            transport.close()
        for sock in hung:
            sock.close()
        self._selector.close()
        self._close_listeners()

    def _close_listeners(self) -> None:
        for served in getattr(self, "routers", ()):
            served.listener.close()

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _server_interface() -> type:
    import paramiko
    from paramiko.common import (
        AUTH_FAILED,
        AUTH_SUCCESSFUL,
        OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
        OPEN_SUCCEEDED,
    )

    class Server(paramiko.ServerInterface):
        """One connection's view of a served router (paramiko calls these in its thread)."""

        def __init__(self, replay: Replay, served: Served) -> None:
            self.replay = replay
            self.served = served
            self.seen: dict[str, int] = {}

        def get_allowed_auths(self, username: str) -> str:
            return "publickey"

        def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
            fault = self.served.fault
            if fault is not None and fault.kind == "auth":
                return AUTH_FAILED
            if username == USERNAME and key.asbytes() == self.replay.client_key.asbytes():
                return AUTH_SUCCESSFUL
            return AUTH_FAILED

        def check_channel_request(self, kind: str, chanid: int) -> int:
            if kind == "session":
                return OPEN_SUCCEEDED
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

        def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
            line = command.decode("utf-8", errors="replace")
            seen = self.seen.get(line, 0)
            self.seen[line] = seen + 1
            self.replay.answer(self.served, channel, line, seen)
            return True

    return Server


_SERVER_CLASS: list[type] = []
_TRANSPORT_CLASS: list[type[paramiko.Transport]] = []
# paramiko's transport thread wakes every 0.1 s (a socket timeout) to see whether it was closed:
# 1000 idle connections cost 10000 wake-ups a second, and at 1000 routers the replay spent more
# CPU polling than answering. Closing a connection closes its socket, which ends the read at
# once, so the poll only bounds how late a transport notices it was closed by this process.
POLL_SECONDS = 2.0
REPLY_WAIT_SECONDS = 30.0  # a threaded answer's CLOSE waits this long for the exec reply


def _request_then_close(channel: Any, message: Any) -> None:
    """paramiko's channel-request handling (the exec callback, then its reply), then the
    CLOSE of a command answered meanwhile: sshd closes a session once its command exited."""
    import paramiko

    paramiko.Channel._handle_request(channel, message)  # type: ignore[attr-defined]
    replied = getattr(channel, "holdtime_replied", None)
    if replied is not None:
        replied.set()
    if getattr(channel, "holdtime_close_after_reply", False):
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            channel.close()


def _transport_class() -> type[paramiko.Transport]:
    """paramiko.Transport with a slower idle poll (see POLL_SECONDS)."""
    if not _TRANSPORT_CLASS:
        import paramiko

        class QuietTransport(paramiko.Transport):
            _active_check_timeout = POLL_SECONDS
            _channel_handler_table = {
                **paramiko.Transport._channel_handler_table,  # type: ignore[attr-defined]
                paramiko.common.MSG_CHANNEL_REQUEST: _request_then_close,
            }

        _TRANSPORT_CLASS.append(QuietTransport)
    return _TRANSPORT_CLASS[0]


def _Server(replay: Replay, served: Served) -> Any:  # noqa: N802 (a class, built lazily)
    """The paramiko.ServerInterface of one connection (paramiko imported on first use)."""
    if not _SERVER_CLASS:
        _SERVER_CLASS.append(_server_interface())
    return _SERVER_CLASS[0](replay, served)


def _reset(transport: Any) -> None:
    """Abort the TCP connection (RST, not FIN): SO_LINGER 0, then close."""
    sock = getattr(transport, "sock", None)
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


def _ed25519_key() -> tuple[paramiko.PKey, str]:
    """A fresh Ed25519 key (paramiko reads them but cannot generate them; cryptography can).

    Ed25519 for the client key because paramiko tries a key file as RSA, ECDSA, then Ed25519
    and reports the last attempt's error: with an Ed25519 key a refused login is reported as
    the authentication failure it is, not as "encountered EC key, expected OPENSSH key".
    """
    import paramiko
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    text = (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.OpenSSH,
            serialization.NoEncryption(),
        )
        .decode()
    )
    return paramiko.Ed25519Key(file_obj=io.StringIO(text)), text  # paramiko cannot write it


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _raise_file_limit(wanted: int) -> None:
    """Raise the soft open-files limit towards the hard one: a port and a socket per router."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= wanted:
        return
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < wanted:
        raise ConfigError(
            f"serving these routers needs {wanted} open files and the limit is {hard} "
            "(ulimit -Hn); serve fewer copies"
        )


def _quiet_paramiko() -> None:
    """paramiko's server threads log a traceback per aborted handshake: DEBUG, not stderr."""
    from holdtime.probes.ssh import capture_paramiko_logging

    capture_paramiko_logging()
