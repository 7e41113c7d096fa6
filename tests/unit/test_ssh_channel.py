"""SshSession's command channel against a real paramiko SSH server: refusals, floods, reuse.

The session sends each exec request without waiting for its reply and reads a command's output
once, at its end (or every 512 KiB): these prove that a refused exec still fails the command,
that outputs far larger than the SSH window arrive whole on both streams, and that many
commands in a row each keep their own output and exit status. The server is paramiko's server
side over loopback TCP (what `holdtime lab replay` runs), with its own host key pinned in a
known_hosts file: host-key verification is the one users get.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest

from holdtime.errors import ConnectError
from holdtime.probes.router_config import Router, SshAuth
from holdtime.probes.ssh import SshParams, SshSession

BIG = 3 * 1024 * 1024  # over paramiko's 2 MB window, over the 512 KiB wake-up


class _Server(paramiko.ServerInterface):
    """Accepts the test key; runs `echo N`, `big`, `fail`; refuses the exec of `refuse`."""

    def __init__(self, client_key: paramiko.PKey) -> None:
        self.client_key = client_key

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        if key == self.client_key:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind: str, chanid: int) -> int:
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        line = command.decode()
        if line == "refuse":
            return False
        threading.Thread(target=_answer, args=(channel, line), daemon=True).start()
        return True


def _answer(channel: paramiko.Channel, line: str) -> None:
    with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
        if line == "big":
            channel.sendall(b"o" * BIG)
            channel.sendall_stderr(b"e" * BIG)
            channel.send_exit_status(0)
        elif line == "fail":
            channel.sendall_stderr(b"fail: no such thing\n")
            channel.send_exit_status(3)
        else:
            channel.sendall(line.encode() + b"\n")
            channel.send_exit_status(0)
        channel.shutdown_write()


@pytest.fixture
def router(tmp_path: Path) -> Iterator[Router]:
    """A Router pointing at a paramiko server on loopback, its host key in known_hosts."""
    host_key = paramiko.ECDSAKey.generate()
    client_key = paramiko.ECDSAKey.generate()
    key_file = tmp_path / "client_key"
    client_key.write_private_key_file(str(key_file))
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    (tmp_path / "known_hosts").write_text(
        f"[127.0.0.1]:{port} {host_key.get_name()} {host_key.get_base64()}\n"
    )
    transports: list[paramiko.Transport] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            transport = paramiko.Transport(connection)
            transport.add_server_key(host_key)
            transport.start_server(server=_Server(client_key))
            transports.append(transport)

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield Router(
            name="chan",
            host="127.0.0.1",
            port=port,
            username="holdtime",
            auth=SshAuth(key_file=str(key_file)),
            known_hosts=str(tmp_path / "known_hosts"),
            command_timeout_seconds=20.0,
        )
    finally:
        listener.close()
        for transport in transports:
            transport.close()


def test_a_refused_exec_request_fails_that_command_only(router: Router) -> None:
    """An exec the device refuses is a ConnectError naming it; the next command still runs."""
    with SshSession(SshParams.from_router(router)) as session:
        with pytest.raises(ConnectError) as caught:
            session.run("refuse")
        after = session.run("echo 2")
    assert "chan: `refuse` failed: Channel closed." == str(caught.value)
    assert ("echo 2\n", 0) == (after.stdout, after.exit_status)


def test_outputs_larger_than_the_window_arrive_whole_on_both_streams(router: Router) -> None:
    """3 MiB on stdout and 3 MiB on stderr (over the 2 MB window): every byte, exit 0."""
    with SshSession(SshParams.from_router(router)) as session:
        out = session.run("big")
    assert (BIG, BIG, 0) == (len(out.stdout), len(out.stderr), out.exit_status)
    assert ({"o"}, {"e"}) == (set(out.stdout), set(out.stderr))


def test_each_command_of_a_session_keeps_its_own_output_and_status(router: Router) -> None:
    """50 commands on one connection: each its own stdout, stderr and exit status."""
    with SshSession(SshParams.from_router(router)) as session:
        outs = [session.run("fail" if n % 5 == 0 else f"echo {n}") for n in range(50)]
        connects = session.connects
    expected = [
        ("", "fail: no such thing\n", 3) if n % 5 == 0 else (f"echo {n}\n", "", 0)
        for n in range(50)
    ]
    assert expected == [(o.stdout, o.stderr, o.exit_status) for o in outs]
    assert 1 == connects
