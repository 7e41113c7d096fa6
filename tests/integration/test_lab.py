"""The built-in lab for real: BGP over userspace IPsec, failover topology, SSH, clean teardown."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab import cli as lab_cli
from holdtime.lab.processes import namespaces, zombie
from holdtime.netns import create_connection

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]


def _child_bytes(lab: Lab, tunnel: str) -> tuple[int, int]:
    """(bytes-in, bytes-out) of the router's CHILD SA for `tunnel`, from vici."""
    raw = lab.exec(
        "router", ["swanctl", "--list-sas", "--raw", "--uri", lab.vici_uri(tunnel)]
    ).stdout
    found = re.search(r"bytes-in=(\d+) .*?bytes-out=(\d+)", raw)
    assert found is not None, raw
    return int(found.group(1)), int(found.group(2))


def _cli(argv: list[str]) -> int:
    """`holdtime lab ...` through the lab's own register() (as holdtime.cli wires it)."""
    parser = argparse.ArgumentParser(prog="holdtime")
    lab_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return int(args.handler(args))


def _ssh_client(lab: Lab, known_hosts: Path, host: str) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.load_host_keys(str(known_hosts))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    sock = create_connection((host, 22), 5.0, netns=lab.netns("mgmt"))
    client.connect(
        host,
        username="root",
        key_filename=str(lab.root / "client_key"),
        sock=sock,
        look_for_keys=False,
        allow_agent=False,
        timeout=5,
    )
    return client


def test_bgp_established_on_both_tunnels(lab: Lab) -> None:
    """The router has both edge sessions Established."""
    assert {"10.10.10.2": "Established", "10.10.10.6": "Established"} == lab.bgp_states()


def test_bgp_goes_through_esp(lab: Lab) -> None:
    """The peers are reached over the TUN devices and the CHILD SA byte counters grow."""
    for peer in ("10.10.10.2", "10.10.10.6"):
        route = lab.exec("router", ["ip", "-o", "route", "get", peer]).stdout
        assert True is (" dev ipsec" in route), route
    before = {t: _child_bytes(lab, t) for t in ("esg1", "esg2")}
    time.sleep(lab.timers[0] + 1.5)  # at least one keepalive each way
    after = {t: _child_bytes(lab, t) for t in ("esg1", "esg2")}
    grew = {t: (after[t][0] > before[t][0], after[t][1] > before[t][1]) for t in before}
    assert {"esg1": (True, True), "esg2": (True, True)} == grew


def test_best_path_via_esg1(lab: Lab) -> None:
    """172.16.1.0/24 is learnt from both edges and the best path is via esg1 (weight 2)."""
    assert "10.10.10.2" == lab.best_path("172.16.1.0/24")
    table = lab.vtysh("router", "show ip route 172.16.1.0/24")
    assert True is ("* 10.10.10.2, via ipsec" in table), table


def test_app_pings_db(lab: Lab) -> None:
    """app 192.168.1.5 reaches db 172.16.1.10 through the tunnel."""
    done = lab.exec("app", ["ping", "-c", "3", "-i", "0.2", "-W", "1", "172.16.1.10"])
    assert True is (" 3 received" in done.stdout), done.stdout


def test_paramiko_with_host_key_checking(lab: Lab) -> None:
    """paramiko (RejectPolicy, lab known_hosts, socket in mgmt) runs vtysh on the router."""
    client = _ssh_client(lab, lab.known_hosts_path, "10.250.0.2")
    try:
        _, stdout, _ = client.exec_command("vtysh -c 'show bgp summary json'")
        output = stdout.read().decode()
    finally:
        client.close()
    assert 2 == output.count('"state":"Established"') + output.count('"state": "Established"')


def test_paramiko_rejects_wrong_host_key(lab: Lab, tmp_path: Path) -> None:
    """With esg1's key listed for the router's address, the connection is refused."""
    lines = lab.known_hosts_path.read_text().splitlines()
    esg1_key = next(line for line in lines if line.startswith("10.250.0.3 ")).split(" ", 1)[1]
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"10.250.0.2 {esg1_key}\n")
    with pytest.raises(paramiko.BadHostKeyException):
        _ssh_client(lab, wrong, "10.250.0.2")


def test_openssh_strict_and_vici_sockets(lab: Lab) -> None:
    """`ssh -o StrictHostKeyChecking=yes` from mgmt reaches every tunnel's vici socket."""
    router = load_inventory(lab.inventory_path).router("vpc-router-1")
    command = "; ".join(
        f"swanctl --list-sas --uri {uri} 2>/dev/null" for uri in router.swanctl_uris
    )
    done = subprocess.run(
        [
            *("ip", "netns", "exec", lab.netns("mgmt"), "ssh", "-o", "BatchMode=yes"),
            *(
                "-o",
                "StrictHostKeyChecking=yes",
                "-o",
                f"UserKnownHostsFile={lab.known_hosts_path}",
            ),
            *("-i", str(lab.root / "client_key"), "root@10.250.0.2", command),
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    assert ["esg1", "esg2"] == re.findall(
        r"^\s+(esg\d): #\d+, reqid \d+, INSTALLED", done.stdout, re.M
    )


def test_root_namespace_not_connected(lab: Lab) -> None:
    """Every veth of the lab has its peer inside another lab namespace, none in the root one."""
    outside = []
    for node in ("mgmt", "app", "router", "esg1", "esg2", "dr", "db"):
        links = lab.exec(node, ["ip", "-o", "link", "show", "type", "veth"]).stdout
        for line in links.splitlines():
            peer = re.search(r"link-netns (\S+)", line)
            if peer is None or not peer.group(1).startswith(lab.prefix):
                outside.append(f"{node}: {line.split(':')[1].strip()}")
    assert [] == outside


def test_up_twice_is_harmless(lab: Lab) -> None:
    """A second `up` starts nothing and leaves every lab process in place."""
    before = lab.pids()
    assert [f"lab {lab.prefix} already up: nothing started"] == lab.up(timeout_seconds=30)
    assert before == lab.pids()


def test_cli_status_and_inventory(lab: Lab, capsys: pytest.CaptureFixture[str]) -> None:
    """`holdtime lab status` shows both sessions and tunnels; `inventory --path` its file."""
    assert 0 == _cli(["lab", "status", "--prefix", lab.prefix])
    status = capsys.readouterr().out
    assert [
        "  BGP 10.10.10.2: Established",
        "  BGP 10.10.10.6: Established",
        "  best path 172.16.1.0/24 via 10.10.10.2",
        "  IPsec esg1: INSTALLED",
        "  IPsec esg2: INSTALLED",
    ] == status.splitlines()[1:]
    assert 0 == _cli(["lab", "inventory", "--prefix", lab.prefix, "--path"])
    assert f"{lab.inventory_path}\n" == capsys.readouterr().out


def test_down_leaves_nothing_even_after_crash() -> None:
    """`down` without a state file (a crash) still removes namespaces, processes and mounts."""
    scratch_prefix = f"htdn{os.getpid() % 10000}-"
    scratch = Lab(prefix=scratch_prefix)
    # through the CLI with its output piped: no daemon may keep the pipe open after exit
    up = subprocess.run(
        [str(Path(sys.executable).parent / "holdtime"), "lab", "up", "--prefix", scratch_prefix],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert 0 == up.returncode, up.stderr
    pids = scratch.pids()
    assert 15 <= len(pids)
    (scratch.root / "state.json").unlink()  # what a crashed `up` may leave: no record at all
    Lab(prefix=scratch_prefix).down()
    assert [] == [name for name in namespaces() if name.startswith(scratch_prefix)]
    # daemons started by the CLI belong to init once it exits: gone or a zombie it will reap
    assert [] == sorted(pid for pid in pids if not zombie(pid))
    assert False is scratch.root.exists()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert [] == [line for line in mounts.splitlines() if str(scratch.root) in line]
