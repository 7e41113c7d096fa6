"""The SSH transport against real OpenSSH servers in htrp- network namespaces.

Topology (built once per module, torn down after):
    client ns 10.99.1.1 --- 10.99.1.2 bastion ns 10.99.2.1 --- 10.99.2.2 device ns
The client namespace has no route to the device: reaching it needs the bastion (ProxyJump).
A third sshd in the bastion namespace (port 2200) is a hanging device: its PATH starts with a
folder whose `sysctl` never returns. Hostile devices that no sshd imitates (one that accepts TCP
and never sends a banner) are plain sockets on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from holdtime.errors import AuthError, CommandTimeout, ConnectError, HostKeyError
from holdtime.probes.router_config import Router, SshAuth
from holdtime.probes.ssh import SshParams, SshSession

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
    pytest.mark.skipif(
        shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists(),
        reason="needs openssh-server",
    ),
]

BASTION, DEVICE = "10.99.1.2", "10.99.2.2"
HANGING_PORT = 2200  # the hanging device's sshd, in the bastion namespace
HANGING_SLEEP = "sleep 3173"  # what its fake `sysctl` runs: a marker pgrep can find
HOLDTIME = str(Path(sys.executable).with_name("holdtime"))  # the installed console script


def _run(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


def _sshd_config(listen: str, host_key: Path, authorized: Path, pid: Path) -> str:
    return (
        f"ListenAddress {listen}\nPort 22\nHostKey {host_key}\nPidFile {pid}\n"
        f"AuthorizedKeysFile {authorized}\nPermitRootLogin yes\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\nLogLevel ERROR\n"
        "AllowTcpForwarding yes\nMaxStartups 100:30:200\n"
    )


@dataclass
class SshLab:
    """Namespaces, keys and sshd processes of this module."""

    root: Path
    client_ns: str
    bastion_ns: str
    device_ns: str
    key: Path
    known_hosts: Path
    sshd: dict[str, subprocess.Popen[bytes]]
    user: str  # a non-root account: OpenSSH signals a session only with privilege separation

    def router(self, **changes: object) -> Router:
        """A Router reaching the device through the bastion, verified with known_hosts."""
        base = Router(
            name="lab-device",
            host=DEVICE,
            username="root",
            auth=SshAuth(key_file=self.key),
            known_hosts=self.known_hosts,
            proxy_jump=f"root@{BASTION}",
            netns=self.client_ns,
            connect_timeout_seconds=5.0,
            command_timeout_seconds=5.0,
        )
        return replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sshlab() -> Iterator[SshLab]:
    """Three namespaces, two sshd (bastion, device), a client key and a known_hosts file."""
    tag = uuid.uuid4().hex[:4]
    root = Path(tempfile.mkdtemp(prefix="htrp-ssh-"))
    names = {n: f"htrp-{tag}-{n}" for n in ("cli", "bas", "dev")}
    sshd: dict[str, subprocess.Popen[bytes]] = {}
    user = f"htrp-{tag}"
    try:
        # "*": no password, but not locked ("!"), which OpenSSH refuses even for key logins
        _run(
            "useradd",
            "--system",
            "-M",
            "-N",
            "-p",
            "*",
            "-d",
            "/nonexistent",
            "-s",
            "/bin/sh",
            user,
        )
        for ns in names.values():
            _run("ip", "netns", "add", ns)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        for a, b, a_addr, b_addr in (
            ("cli", "bas", "10.99.1.1/24", "10.99.1.2/24"),
            ("bas", "dev", "10.99.2.1/24", "10.99.2.2/24"),
        ):
            left, right = f"h{tag}{a}", f"h{tag}{b}{a[0]}"
            _run("ip", "link", "add", left, "type", "veth", "peer", "name", right)
            _run("ip", "link", "set", left, "netns", names[a])
            _run("ip", "link", "set", right, "netns", names[b])
            _run("ip", "-n", names[a], "addr", "add", a_addr, "dev", left)
            _run("ip", "-n", names[b], "addr", "add", b_addr, "dev", right)
            _run("ip", "-n", names[a], "link", "set", left, "up")
            _run("ip", "-n", names[b], "link", "set", right, "up")
        key = root / "client_ed25519"
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
        known = []
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
        for node, address in (("bas", BASTION), ("dev", DEVICE)):
            host_key = root / f"{node}_host_ed25519"
            _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key))
            known.append(
                f"{address} {Path(f'{host_key}.pub').read_text().split(' ')[0]} "
                f"{Path(f'{host_key}.pub').read_text().split(' ')[1]}"
            )
            conf = root / f"{node}_sshd_config"
            conf.write_text(
                _sshd_config(address, host_key, Path(f"{key}.pub"), root / f"{node}.pid")
            )
            sshd[node] = subprocess.Popen(
                ["ip", "netns", "exec", names[node], "/usr/sbin/sshd", "-D", "-e", "-f", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=(root / f"{node}.log").open("wb"),
            )
        root.chmod(0o755)  # the test user runs the hanging device's fake sysctl from here
        fake_bin = root / "hanging-bin"
        fake_bin.mkdir()
        runs = root / "hanging-runs"  # one line per command the hanging device received
        runs.mkdir(mode=0o777)
        runs.chmod(0o777)
        (fake_bin / "sysctl").write_text(
            f"#!/bin/sh\necho $$ >> {runs}/started\n{HANGING_SLEEP}\necho never\n"
        )
        (fake_bin / "sysctl").chmod(0o755)
        conf = root / "hang_sshd_config"
        conf.write_text(
            _sshd_config(
                BASTION, root / "bas_host_ed25519", Path(f"{key}.pub"), root / "hang.pid"
            ).replace("Port 22\n", f"Port {HANGING_PORT}\n")
            + f"SetEnv PATH={fake_bin}:/usr/bin:/bin\n"
        )
        sshd["hang"] = subprocess.Popen(
            ["ip", "netns", "exec", names["bas"], "/usr/sbin/sshd", "-D", "-e", "-f", str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=(root / "hang.log").open("wb"),
        )
        known.append(f"[{BASTION}]:{HANGING_PORT} {known[0].split(' ', 1)[1]}")
        known_hosts = root / "known_hosts"
        known_hosts.write_text("\n".join(known) + "\n")
        for node, address in (
            ("bas", f"{BASTION}/22"),
            ("dev", f"{DEVICE}/22"),
            ("bas", f"{BASTION}/{HANGING_PORT}"),
        ):
            for _ in range(50):
                probe = subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        names[node],
                        "bash",
                        "-c",
                        f"exec 3<>/dev/tcp/{address}",
                    ],
                    capture_output=True,
                    check=False,
                )
                if probe.returncode == 0:
                    break
                time.sleep(0.1)
        yield SshLab(root, names["cli"], names["bas"], names["dev"], key, known_hosts, sshd, user)
    finally:
        # --force: even while a leftover process of the user runs
        subprocess.run(["userdel", "--force", user], check=False, capture_output=True)
        for process in sshd.values():
            process.terminate()
            process.wait(timeout=10)
        for ns in names.values():
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def _direct_to_bastion(sshlab: SshLab, **changes: object) -> Router:
    return sshlab.router(host=BASTION, proxy_jump=None, name="lab-bastion", **changes)


def test_command_output_and_exit_status(sshlab: SshLab) -> None:
    """stdout, stderr and the exit status of a command come back separately."""
    with SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session:
        out = session.run("echo hello; echo oops >&2; exit 3")
    assert ("hello\n", "oops\n", 3) == (out.stdout, out.stderr, out.exit_status)


def test_one_connection_is_reused_for_every_command(sshlab: SshLab) -> None:
    """Five commands run over one TCP connection (same client port seen by sshd)."""
    with SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session:
        seen = {session.run("echo $SSH_CONNECTION").stdout.split()[1] for _ in range(5)}
        connects = session.connects
    assert (1, 1) == (len(seen), connects)


def test_proxy_jump_reaches_the_device_through_the_bastion(sshlab: SshLab) -> None:
    """With proxy_jump the device sees the connection come from the bastion's address."""
    with SshSession(SshParams.from_router(sshlab.router())) as session:
        source = session.run("echo $SSH_CONNECTION").stdout.split()[0]
    assert "10.99.2.1" == source


def test_device_is_unreachable_without_the_bastion(sshlab: SshLab) -> None:
    """Without proxy_jump the client namespace has no route: ConnectError naming the device."""
    with pytest.raises(ConnectError) as caught:
        SshSession(SshParams.from_router(sshlab.router(proxy_jump=None))).connect()
    assert str(caught.value).startswith("lab-device: cannot connect to 10.99.2.2:22")


def test_ssh_config_alias_hostname_user_identity_and_proxyjump(sshlab: SshLab) -> None:
    """An ssh_config alias supplies HostName, User, IdentityFile and ProxyJump (via bastion)."""
    config = sshlab.root / "ssh_config"
    config.write_text(
        f"Host edge\n  HostName {DEVICE}\n  User root\n  IdentityFile {sshlab.key}\n"
        "  ProxyJump jump\n"
        f"Host jump\n  HostName {BASTION}\n  User root\n  IdentityFile {sshlab.key}\n"
    )
    router = sshlab.router(
        host="edge", username="", auth=SshAuth(), proxy_jump=None, ssh_config=config
    )
    with SshSession(SshParams.from_router(router)) as session:
        out = session.run("echo $USER $SSH_CONNECTION")
    assert ["root", "10.99.2.1"] == out.stdout.split()[:2]


def test_unknown_host_key_is_rejected_by_default(sshlab: SshLab) -> None:
    """An empty known_hosts with the default policy gives HostKeyError naming the device."""
    empty = sshlab.root / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(HostKeyError) as caught:
        SshSession(SshParams.from_router(_direct_to_bastion(sshlab, known_hosts=empty))).connect()
    assert str(caught.value).startswith("lab-bastion: host key of 10.99.1.2 is not in known_hosts")


def test_changed_host_key_is_rejected_under_every_policy(sshlab: SshLab) -> None:
    """A known_hosts entry with another key fails even with accept-new and warn."""
    other = sshlab.root / "other_host_key"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other))
    kind, blob = Path(f"{other}.pub").read_text().split()[:2]
    wrong = sshlab.root / "wrong_known_hosts"
    wrong.write_text(f"{BASTION} {kind} {blob}\n")
    messages = []
    for policy in ("reject", "accept-new", "warn"):
        router = _direct_to_bastion(sshlab, known_hosts=wrong, host_key_policy=policy)
        with pytest.raises(HostKeyError) as caught:
            SshSession(SshParams.from_router(router)).connect()
        messages.append("does NOT match" in str(caught.value))
    assert [True, True, True] == messages


def test_accept_new_pins_the_key_and_logs_a_warning(
    sshlab: SshLab, caplog: pytest.LogCaptureFixture
) -> None:
    """accept-new trusts an unknown key once, writes it to known_hosts, and says so loudly."""
    pinned = sshlab.root / "pinned_known_hosts"
    pinned.unlink(missing_ok=True)
    router = _direct_to_bastion(sshlab, known_hosts=pinned, host_key_policy="accept-new")
    with (
        caplog.at_level(logging.WARNING, logger="holdtime.ssh"),
        SshSession(SshParams.from_router(router)) as session,
    ):
        session.run("true")
    strict = _direct_to_bastion(sshlab, known_hosts=pinned)
    with SshSession(SshParams.from_router(strict)) as session:
        status = session.run("true").exit_status
    assert (True, 0) == ("ACCEPTED NEW host key" in caplog.text, status)
    assert [BASTION] == [line.split()[0] for line in pinned.read_text().splitlines()]


def test_wrong_key_is_auth_error(sshlab: SshLab) -> None:
    """A key the server does not know gives AuthError naming the device and the user."""
    stranger = sshlab.root / "stranger_ed25519"
    if not stranger.exists():
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(stranger))
    router = _direct_to_bastion(sshlab, auth=SshAuth(key_file=stranger))
    with pytest.raises(AuthError) as caught:
        SshSession(SshParams.from_router(router)).connect()
    assert str(caught.value).startswith("lab-bastion: authentication as 'root' on 10.99.1.2 failed")


@pytest.mark.parametrize(
    ("kind", "bits"), [("ed25519", ""), ("rsa", "2048"), ("ecdsa", "256"), ("ecdsa", "384")]
)
def test_key_files_of_every_type_log_in_or_are_refused_as_such(
    sshlab: SshLab, kind: str, bits: str
) -> None:
    """ssh-keygen keys against OpenSSH: authorized -> a session; not authorized -> AuthError.

    Before keys were loaded by their type, a refused RSA or ECDSA key surfaced as paramiko's
    "encountered EC key, expected OPENSSH key".
    """
    key = sshlab.root / f"typed_{kind}{bits}"
    if not key.exists():
        _run(
            "ssh-keygen",
            "-q",
            "-t",
            kind,
            *(["-b", bits] if bits else []),
            "-N",
            "",
            "-f",
            str(key),
        )
    router = _direct_to_bastion(sshlab, auth=SshAuth(key_file=key))
    with pytest.raises(AuthError) as caught:
        SshSession(SshParams.from_router(router)).connect()
    refused = str(caught.value)
    authorized = Path(f"{sshlab.key}.pub")
    before = authorized.read_text()
    authorized.write_text(before + Path(f"{key}.pub").read_text())
    try:
        with SshSession(SshParams.from_router(router)) as session:
            status = session.run("true").exit_status
    finally:
        authorized.write_text(before)
    assert refused.startswith(
        "lab-bastion: authentication as 'root' on 10.99.1.2 failed (key file)"
    )
    assert 0 == status


def test_wrong_password_is_auth_error(sshlab: SshLab) -> None:
    """Password authentication that the server rejects gives AuthError (method named)."""
    router = _direct_to_bastion(sshlab, auth=SshAuth(password_env="X", password="not-it"))
    with pytest.raises(AuthError) as caught:
        SshSession(SshParams.from_router(router)).connect()
    assert "(password)" in str(caught.value)


def test_refused_port_is_connect_error(sshlab: SshLab) -> None:
    """No sshd on the port: ConnectError naming the device, address and reason."""
    with pytest.raises(ConnectError) as caught:
        SshSession(SshParams.from_router(_direct_to_bastion(sshlab, port=2222))).connect()
    assert "lab-bastion: cannot connect to 10.99.1.2:2222: Connection refused" == str(caught.value)


def test_slow_command_times_out_and_the_session_survives(sshlab: SshLab) -> None:
    """A command past its timeout raises CommandTimeout; the next command still works."""
    with SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session:
        began = time.monotonic()
        with pytest.raises(CommandTimeout) as caught:
            session.run("sleep 5", timeout_seconds=0.5)
        elapsed = time.monotonic() - began
        after = session.run("echo still-here").stdout
    assert "lab-bastion: `sleep 5` did not finish within 0.5 s" == str(caught.value)
    assert ("still-here\n", True) == (after, elapsed < 2.0)


def test_connection_reset_mid_command_is_retried_once(sshlab: SshLab) -> None:
    """When sshd's session process dies mid-command, the session reconnects and retries once."""
    flag = sshlab.root / f"reset-{uuid.uuid4().hex[:6]}"
    # First run: kill our own sshd session process (the connection drops); retry: flag exists.
    command = f"if [ ! -e {flag} ]; then touch {flag}; kill -9 $PPID; sleep 1; fi; echo ok"
    with SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session:
        out = session.run(command)
        connects = session.connects
    assert ("ok\n", 2) == (out.stdout, connects)


def test_reset_twice_is_connect_error(sshlab: SshLab) -> None:
    """A connection that drops again after the one retry gives ConnectError naming the device."""
    with (
        SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session,
        pytest.raises(ConnectError) as caught,
    ):
        session.run("kill -9 $PPID; sleep 1")
    assert str(caught.value).startswith("lab-bastion: connection lost again during")


def test_stopped_sshd_is_connect_error(sshlab: SshLab) -> None:
    """A stopped sshd (TCP accepted by the kernel, no banner) is a banner timeout, not a hang."""
    device_sshd = sshlab.sshd["dev"]
    pid = int((sshlab.root / "dev.pid").read_text())
    os.kill(pid, signal.SIGSTOP)  # frozen sshd: the jump succeeds, the handshake times out
    try:
        router = sshlab.router(connect_timeout_seconds=1.0)
        with pytest.raises(ConnectError) as caught:
            SshSession(SshParams.from_router(router)).connect()
    finally:
        os.kill(pid, signal.SIGCONT)
    expected = (
        "lab-device: timed out after 1 s waiting for the SSH banner of 10.99.2.2 via 10.99.1.2"
    )
    assert (expected, None) == (str(caught.value), device_sshd.poll())


def _left_running(pattern: str, wait_seconds: float = 10.0) -> list[str]:
    """Command lines of processes matching `pattern` still alive after up to `wait_seconds`.

    sshd delivers a signal asynchronously: give it a moment, but never assert on timing.
    """
    end = time.monotonic() + wait_seconds
    while True:
        found = subprocess.run(
            ["pgrep", "-a", "-f", pattern], capture_output=True, text=True, check=False
        ).stdout.splitlines()
        if not found or time.monotonic() > end:
            return found
        time.sleep(0.1)


def test_stderr_flood_is_read_to_the_end(sshlab: SshLab) -> None:
    """A command writing 3 MB to stderr (beyond the 2 MB SSH window) completes, nothing lost."""
    command = "head -c 3000000 /dev/zero | tr '\\0' e >&2; echo done"
    with SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session:
        out = session.run(command, timeout_seconds=20.0)
    assert ("done\n", 3_000_000, {"e"}, 0) == (
        out.stdout,
        len(out.stderr),
        set(out.stderr),
        out.exit_status,
    )


def test_stdout_and_stderr_floods_together(sshlab: SshLab) -> None:
    """3 MB on each stream at once, interleaved, both arrive whole."""
    one_mb = "head -c 1000000 /dev/zero | tr '\\0'"
    command = f"for i in 1 2 3; do {one_mb} o; {one_mb} e >&2; done"
    with SshSession(SshParams.from_router(_direct_to_bastion(sshlab))) as session:
        out = session.run(command, timeout_seconds=20.0)
    assert (3_000_000, 3_000_000) == (len(out.stdout), len(out.stderr))


@pytest.mark.parametrize("login", ["root", "unprivileged"])
def test_timed_out_command_is_killed_on_the_device(sshlab: SshLab, login: str) -> None:
    """After a timeout no process of the command (a pipeline: its whole group) is left.

    sshd honours the signal request for the unprivileged user only; root needs the fallback.
    """
    marker = f"sleep 31{uuid.uuid4().int % 90 + 10}"
    router = _direct_to_bastion(sshlab, username=sshlab.user if login != "root" else "root")
    with SshSession(SshParams.from_router(router)) as session:
        with pytest.raises(CommandTimeout):
            session.run(f"{marker} | cat; echo late", timeout_seconds=1.0)
        after = session.run("echo still-here").stdout
    assert ([], "still-here\n") == (_left_running(marker), after)


@pytest.mark.parametrize(
    ("behaviour", "expected"),
    [
        ("silent", "loop: timed out after 1 s waiting for the SSH banner of 127.0.0.1"),
        ("close", "loop: 127.0.0.1 closed the connection without sending an SSH banner"),
        ("banner-only", "loop: SSH handshake with 127.0.0.1 timed out after 1 s"),
    ],
)
def test_server_without_a_banner_is_one_line(behaviour: str, expected: str) -> None:
    """Silent, closing at once, or silent after its banner: a ConnectError saying which."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def serve() -> None:
        with contextlib.suppress(OSError):
            connection = server.accept()[0]
            if behaviour == "close":
                connection.close()
                return
            if behaviour == "banner-only":
                connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
            held.append(connection)

    threading.Thread(target=serve, daemon=True).start()
    router = Router(
        name="loop",
        host="127.0.0.1",
        port=server.getsockname()[1],
        username="root",
        auth=SshAuth(agent=True),
        host_key_policy="warn",
        connect_timeout_seconds=1.0,
    )
    try:
        with pytest.raises(ConnectError) as caught:
            SshSession(SshParams.from_router(router)).connect()
    finally:
        server.close()
        for connection in held:
            connection.close()
    assert expected == str(caught.value)


def _holdtime_check_ip_forwarding(inventory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """`holdtime check -v --only system.ip_forwarding` run as a user would, from its folder."""
    command = [HOLDTIME, "check", "-i", str(inventory), "-v", "--only", "system.ip_forwarding"]
    return subprocess.run(
        [*command, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=inventory.parent,
    )


def test_banner_stall_via_the_cli_is_one_line_per_device(tmp_path: Path) -> None:
    """`holdtime check` against a server that never sends a banner: one line each, no traceback."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []

    def accept_and_stay_silent() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_stay_silent, daemon=True).start()
    port = server.getsockname()[1]
    key = tmp_path / "key"
    _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    (tmp_path / "known_hosts").write_text("")
    routers = "".join(
        f"""  - name: {name}
    host: 127.0.0.1
    port: {port}
    username: root
    auth: {{key_file: key}}
    known_hosts: known_hosts
    timeouts: {{connect_seconds: 1, command_seconds: 2}}
"""
        for name in ("stall-a", "stall-b")
    )
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(f"version: 1\nrouters:\n{routers}")
    try:
        done = _holdtime_check_ip_forwarding(inventory, "--format", "json")
    finally:
        server.close()
        for connection in held:
            connection.close()
    expected = [
        f"ERROR system.ip_forwarding[{name}]: {name}: timed out after 1 s waiting for the SSH "
        "banner of 127.0.0.1"
        for name in ("stall-a", "stall-b")
    ]
    assert (2, expected) == (done.returncode, sorted(done.stderr.splitlines()))


def _hanging_inventory(
    sshlab: SshLab, folder: Path, username: str, command_seconds: int = 1
) -> Path:
    """An inventory with the hanging device (command timeout 1 s), logged in as `username`."""
    inventory = folder / "inventory.yaml"
    inventory.write_text(
        f"""version: 1
routers:
  - name: hanging
    host: {BASTION}
    port: {HANGING_PORT}
    username: {username}
    auth: {{key_file: {sshlab.key}}}
    known_hosts: {sshlab.known_hosts}
    netns: {sshlab.client_ns}
    timeouts: {{connect_seconds: 5, command_seconds: {command_seconds}}}
"""
    )
    return inventory


@pytest.mark.parametrize("login", ["root", "unprivileged"])
def test_hanging_device_via_the_cli_leaves_nothing_running(
    sshlab: SshLab, tmp_path: Path, login: str
) -> None:
    """`holdtime check` against a device whose sysctl hangs: ERROR, and no orphan on the device."""
    inventory = _hanging_inventory(sshlab, tmp_path, sshlab.user if login != "root" else "root")
    done = _holdtime_check_ip_forwarding(inventory)
    expected = (
        "ERROR system.ip_forwarding[hanging]: hanging: `sysctl net.ipv4.ip_forward` did not "
        "finish within 1 s"
    )
    assert (2, [expected], []) == (
        done.returncode,
        done.stderr.splitlines(),
        _left_running(HANGING_SLEEP),
    )


def _signal_after_runs(
    sshlab: SshLab, folder: Path, argv: list[str], runs: int, signum: int
) -> tuple[int, int, list[str]]:
    """Start holdtime, signal it once the hanging device got `runs` commands.

    Returns (commands the device got, exit code, stderr lines).
    """
    started = sshlab.root / "hanging-runs" / "started"
    started.unlink(missing_ok=True)
    process = subprocess.Popen(
        [HOLDTIME, *argv],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=folder,
    )
    try:
        end = time.monotonic() + 60
        while time.monotonic() < end and len(_lines(started)) < runs:
            time.sleep(0.1)
    finally:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=60)
    return len(_lines(started)), process.returncode, stderr.splitlines()


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_serve_against_a_hanging_device_leaves_no_orphans(sshlab: SshLab, tmp_path: Path) -> None:
    """`holdtime serve` checking a hanging device each second: after SIGTERM nothing runs on it."""
    inventory = _hanging_inventory(sshlab, tmp_path, "root")
    argv = [
        *("serve", "-i", str(inventory), "--listen", "127.0.0.1:0", "--interval", "1"),
        *("--jitter", "0", "--only", "system.ip_forwarding"),
    ]
    runs, code, stderr = _signal_after_runs(sshlab, tmp_path, argv, 4, signal.SIGTERM)
    assert (True, 0, [], []) == (
        runs >= 4,
        code,
        [line for line in stderr if "Traceback" in line],
        _left_running(HANGING_SLEEP),
    )


def test_ctrl_c_during_a_hanging_command_leaves_no_orphan(sshlab: SshLab, tmp_path: Path) -> None:
    """Ctrl-C of `holdtime check` while a device hangs (30 s timeout): exit 130, nothing left."""
    inventory = _hanging_inventory(sshlab, tmp_path, "root", command_seconds=30)
    argv = ["check", "-i", str(inventory), "--only", "system.ip_forwarding"]
    outcome = _signal_after_runs(sshlab, tmp_path, argv, 1, signal.SIGINT)
    assert ((1, 130, ["holdtime: interrupted"]), []) == (outcome, _left_running(HANGING_SLEEP))
