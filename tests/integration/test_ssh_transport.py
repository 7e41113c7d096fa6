"""The SSH transport against real OpenSSH servers in htrp- network namespaces.

Topology (built once per module, torn down after):
    client ns 10.99.1.1 --- 10.99.1.2 bastion ns 10.99.2.1 --- 10.99.2.2 device ns
The client namespace has no route to the device: reaching it needs the bastion (ProxyJump).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from holdtime.errors import AuthError, CommandTimeout, ConnectError, HostKeyError
from holdtime.inventory import Router, SshAuth
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
    try:
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
        known_hosts = root / "known_hosts"
        known_hosts.write_text("\n".join(known) + "\n")
        for node, address in (("bas", BASTION), ("dev", DEVICE)):
            for _ in range(50):
                probe = subprocess.run(
                    [
                        "ip",
                        "netns",
                        "exec",
                        names[node],
                        "bash",
                        "-c",
                        f"exec 3<>/dev/tcp/{address}/22",
                    ],
                    capture_output=True,
                    check=False,
                )
                if probe.returncode == 0:
                    break
                time.sleep(0.1)
        yield SshLab(root, names["cli"], names["bas"], names["dev"], key, known_hosts, sshd)
    finally:
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
    """With the device's sshd stopped, connecting is a ConnectError (the bastion is fine)."""
    device_sshd = sshlab.sshd["dev"]
    pid = int((sshlab.root / "dev.pid").read_text())
    os.kill(pid, signal.SIGSTOP)  # frozen sshd: the jump succeeds, the handshake times out
    try:
        router = sshlab.router(connect_timeout_seconds=1.0)
        with pytest.raises(ConnectError) as caught:
            SshSession(SshParams.from_router(router)).connect()
    finally:
        os.kill(pid, signal.SIGCONT)
    assert (str(caught.value).startswith("lab-device: SSH handshake with 10.99.2.2"), None) == (
        True,
        device_sshd.poll(),
    )
