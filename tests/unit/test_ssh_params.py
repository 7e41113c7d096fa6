"""SSH connection parameters from inventory + ssh_config, and the read-only allowlists."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from holdtime.errors import CommandRefused, ConfigError
from holdtime.probes import commands
from holdtime.probes.router_config import Router, SshAuth
from holdtime.probes.ssh import Hop, SshParams


def _router(**changes: object) -> Router:
    values: dict[str, object] = {
        "name": "vpc-router-1",
        "host": "10.20.0.1",
        "username": "holdtime",
        "auth": SshAuth(key_file=Path("/keys/id_ed25519")),
        "known_hosts": Path("/etc/holdtime/known_hosts"),
    }
    values.update(changes)
    return Router(**values)  # type: ignore[arg-type]


def test_plain_router_needs_no_ssh_config() -> None:
    """Host, port, user and key come straight from the inventory entry."""
    params = SshParams.from_router(_router(port=2222))
    assert (
        Hop("10.20.0.1", "10.20.0.1", 2222, "holdtime", (Path("/keys/id_ed25519"),)),
        (),
        (Path("/etc/holdtime/known_hosts"),),
        "reject",
    ) == (params.target, params.jumps, params.known_hosts, params.host_key_policy)


def test_ssh_config_supplies_hostname_port_user_identity_and_jump(tmp_path: Path) -> None:
    """An alias resolves HostName, Port, IdentityFile, ProxyJump (and the bastion's own entry)."""
    config = tmp_path / "config"
    config.write_text(
        "Host vpc-router-1\n  HostName 10.20.0.1\n  Port 2200\n  User ops\n"
        "  IdentityFile /keys/router\n  ProxyJump bastion\n"
        "Host bastion\n  HostName bastion.example.net\n  User jump\n  Port 22022\n"
        "  IdentityFile /keys/bastion\n"
    )
    router = _router(host="vpc-router-1", username="", auth=SshAuth(), ssh_config=config)
    params = SshParams.from_router(router)
    assert Hop("vpc-router-1", "10.20.0.1", 2200, "ops", (Path("/keys/router"),)) == params.target
    assert (
        Hop("bastion", "bastion.example.net", 22022, "jump", (Path("/keys/bastion"),)),
    ) == params.jumps


def test_inventory_values_win_over_ssh_config(tmp_path: Path) -> None:
    """An explicit port, user, key file and proxy_jump in the inventory beat ssh_config."""
    config = tmp_path / "config"
    config.write_text("Host r1\n  HostName 10.0.0.1\n  Port 2200\n  User ops\n  ProxyJump b1\n")
    router = _router(host="r1", port=2222, proxy_jump="admin@b2:2022", ssh_config=config)
    params = SshParams.from_router(router)
    assert (2222, "holdtime", ("b2", 2022, "admin")) == (
        params.target.port,
        params.target.username,
        (params.jumps[0].hostname, params.jumps[0].port, params.jumps[0].username),
    )


def test_proxy_jump_chain_and_ipv6_bastion() -> None:
    """A comma-separated chain keeps its order; `[v6]:port` hops parse."""
    params = SshParams.from_router(_router(proxy_jump="a@first,[2001:db8::1]:2022"))
    assert [("first", 22, "a"), ("2001:db8::1", 2022, "holdtime")] == [
        (j.hostname, j.port, j.username) for j in params.jumps
    ]


def test_known_hosts_is_keyed_by_hostname_or_host_key_alias(tmp_path: Path) -> None:
    """As in OpenSSH, known_hosts lookups use HostName, or HostKeyAlias when set."""
    config = tmp_path / "config"
    config.write_text(
        "Host a\n  HostName 10.0.0.1\nHost b\n  HostName 10.0.0.2\n  HostKeyAlias router-b\n"
    )
    hops = [SshParams.from_router(_router(host=h, ssh_config=config)).target for h in ("a", "b")]
    assert ["10.0.0.1", "router-b"] == [hop.known_as for hop in hops]


def test_user_known_hosts_file_from_ssh_config(tmp_path: Path) -> None:
    """Without known_hosts in the inventory, ssh_config's UserKnownHostsFile is used."""
    config = tmp_path / "config"
    config.write_text("Host r1\n  UserKnownHostsFile /etc/ssh/lab_known_hosts\n")
    params = SshParams.from_router(_router(host="r1", known_hosts=None, ssh_config=config))
    assert (Path("/etc/ssh/lab_known_hosts"),) == params.known_hosts


def test_bad_policy_and_bad_jump_port_are_config_errors() -> None:
    """An unknown host_key_policy or a non-numeric jump port is a ConfigError naming the device."""
    with pytest.raises(ConfigError) as policy:
        SshParams.from_router(_router(host_key_policy="yolo"))
    with pytest.raises(ConfigError) as jump:
        SshParams.from_router(_router(proxy_jump="bastion:ssh"))
    assert [True, True] == [str(e.value).startswith("vpc-router-1: ") for e in (policy, jump)]


def test_password_is_kept_out_of_repr() -> None:
    """The resolved password never shows in the params' repr."""
    params = SshParams.from_router(_router(auth=SshAuth(password_env="PW", password="s3cret!")))
    assert ("s3cret!", False) == (params.password, "s3cret!" in repr(params))


@pytest.mark.parametrize(
    ("platform", "command", "line"),
    [
        ("frr", "show bgp vrf all summary json", "vtysh -c 'show bgp vrf all summary json'"),
        ("frr", "show  bgp ipv4 unicast 172.16.1.0/24 json",
         "vtysh -c 'show bgp ipv4 unicast 172.16.1.0/24 json'"),
        ("strongswan", "swanctl --list-sas --uri unix:///var/lib/lab/charon-esg1/charon.vici",
         "swanctl --list-sas --uri unix:///var/lib/lab/charon-esg1/charon.vici"),
        ("libreswan", "ipsec trafficstatus", "ipsec trafficstatus"),
        ("linux", "sysctl net.ipv4.ip_forward", "sysctl net.ipv4.ip_forward"),
    ],
)  # fmt: skip
def test_allowlisted_commands_build_their_shell_line(
    platform: str, command: str, line: str
) -> None:
    """Read-only commands pass the allowlist and become the line sent to the device."""
    assert line == commands.build(platform, command).line


def test_sudo_prefixes_non_interactive_sudo() -> None:
    """With sudo the line starts with `sudo -n` so a password prompt fails at once."""
    assert "sudo -n ipsec status" == commands.build("libreswan", "ipsec status", sudo=True).line


@pytest.mark.parametrize(
    ("platform", "command"),
    [
        ("frr", "conf t"),
        ("frr", "show bgp ipv4 unicast 172.16.1.0/24 json'; reboot; '"),
        ("frr", "clear bgp *"),
        ("strongswan", "swanctl --terminate --ike esg1"),
        ("strongswan", "swanctl --list-sas --uri unix:///tmp/x;rm -rf /"),
        ("libreswan", "ipsec whack --shutdown"),
        ("linux", "sysctl -w net.ipv4.ip_forward=0"),
        ("frr", "swanctl --list-sas"),
    ],
)
def test_anything_else_is_refused(platform: str, command: str) -> None:
    """Configuration, clearing, shutdown, injection and cross-platform commands are refused."""
    with pytest.raises(CommandRefused) as caught:
        commands.build(platform, command, device="vpc-router-1")
    assert str(caught.value).startswith("vpc-router-1: ")


def test_unknown_platform_is_refused() -> None:
    """A platform with no allowlist is refused, listing the known ones."""
    with pytest.raises(CommandRefused) as caught:
        commands.build("junos", "show bgp summary")
    assert "(frr, strongswan, libreswan, linux)" in str(caught.value)


def test_importing_the_probes_does_not_import_paramiko(tmp_path: Path) -> None:
    """paramiko loads only when a connection is made (holdtime --help stays fast)."""
    code = (
        "import sys, holdtime.probes.router, holdtime.probes.ssh, holdtime.checks.bgp, "
        "holdtime.checks.ipsec, holdtime.cli.parse; print('paramiko' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "False" == out.stdout.strip()
