"""The built-in lab for real: BGP over userspace IPsec, failover topology, SSH, clean teardown."""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pytest

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.lab import cli as lab_cli
from holdtime.lab.lock import busy
from holdtime.lab.processes import namespaces, zombie
from holdtime.lab.topology import NODES
from holdtime.netns import create_connection
from holdtime.probes.router_config import Router

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (network namespaces)"),
]


# Scratch labs of this module take their names from the session lab's prefix (htlab- -> htlabk-),
# so runs that set HOLDTIME_TEST_LAB_PREFIX never meet each other's scratch labs either.
_BASE = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-").rstrip("-_.")
_HOLDTIME = str(Path(sys.executable).parent / "holdtime")
_ESTABLISHED = {"10.10.10.2": "Established", "10.10.10.6": "Established"}


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
    router = load_inventory(lab.inventory_path).named(Router, "vpc-router-1")
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
    for node in ("mgmt", "app", "router", "esg1", "esg2", "dr", "db", "dc1", "dc2"):
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
    scratch_prefix = f"{_BASE}dn{os.getpid() % 10000}-"
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


def _holdtime_lab(*args: str) -> subprocess.CompletedProcess[str]:
    """`holdtime lab ARGS` as a user runs it (its own process, output captured)."""
    return subprocess.run(
        [_HOLDTIME, "lab", *args], capture_output=True, text=True, timeout=300, check=False
    )


def _start_up(prefix: str) -> subprocess.Popen[str]:
    """`holdtime lab up --prefix PREFIX` in the background."""
    return subprocess.Popen(
        [_HOLDTIME, "lab", "up", "--prefix", prefix],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(condition: Callable[[], bool], timeout_seconds: float, what: str) -> None:
    deadline = time.monotonic() + timeout_seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_seconds:g} s")
        time.sleep(0.02)


def _state(lab: Lab) -> dict[str, object]:
    """The lab's state.json as `up` last wrote it ({} before the first write)."""
    try:
        state = json.loads((lab.root / "state.json").read_text())
    except FileNotFoundError:
        return {}
    assert isinstance(state, dict)
    return state


def _spawned(lab: Lab) -> dict[str, int]:
    pids = _state(lab).get("pids", {})
    assert isinstance(pids, dict)
    return {str(name): int(pid) for name, pid in pids.items()}


def _holds_lock(lab: Lab, process: subprocess.Popen[str]) -> bool:
    """True once `process` holds the lab's lock (or has already exited)."""
    holder = busy(lab.lock_path)
    return (holder is not None and holder.pid == process.pid) or process.poll() is not None


def _namespaces_of(lab: Lab) -> list[str]:
    ours = {lab.netns(node) for node in NODES}
    return sorted(name for name in namespaces() if name in ours)


def _leftovers(lab: Lab) -> list[str]:
    """What of a lab still exists: its namespaces, its state folder, its lock file."""
    return _namespaces_of(lab) + [str(p) for p in (lab.root, lab.lock_path) if p.exists()]


@pytest.fixture
def scratch_lab() -> Iterator[Callable[[str], Lab]]:
    """Makes scratch labs `<session prefix base><letter>-` (from nothing); removes them after."""
    made: list[Lab] = []

    def make(letter: str) -> Lab:
        scratch = Lab(prefix=f"{_BASE}{letter}-")
        scratch.down()  # leftovers of an interrupted run
        made.append(scratch)
        return scratch

    yield make
    for scratch in made:
        scratch.down()


def test_sibling_prefix_has_its_own_state(lab: Lab) -> None:
    """Prefixes differing by a trailing `-` are two labs: the sibling's `down` spares our keys."""
    sibling = Lab(prefix=lab.prefix[:-1] if lab.prefix[-1] in "-_." else f"{lab.prefix}-")
    kept = ("client_key", "known_hosts", "inventory.yaml", "state.json")
    before = {name: (lab.root / name).read_bytes() for name in kept}
    try:
        up = _holdtime_lab("up", "--prefix", sibling.prefix)
        side_by_side = (up.returncode, sibling.root != lab.root, sibling.is_up(), lab.is_up())
        down = _holdtime_lab("down", "--prefix", sibling.prefix)
    finally:
        sibling.down()
    assert (0, True, True, True) == side_by_side, up.stderr
    assert 0 == down.returncode, down.stderr
    assert before == {name: (lab.root / name).read_bytes() for name in kept}
    assert ([], True) == (_leftovers(sibling), lab.is_up())


# Where `lab up` is SIGKILLed: a name, and when the test sees the lab has got that far.
_KILL_POINTS: tuple[tuple[str, Callable[[Lab], bool]], ...] = (
    ("namespaces exist", lambda lab: len(_namespaces_of(lab)) == len(NODES)),
    ("FRR running on the router", lambda lab: "router-bgpd" in _spawned(lab)),
    ("FRR running everywhere", lambda lab: _state(lab).get("stage") == "sshd"),
)


def test_up_repairs_a_lab_killed_halfway(scratch_lab: Callable[[str], Lab]) -> None:
    """SIGKILL of `up` halfway: status exits 1 naming what is missing; `up` rebuilds the lab."""
    lab = scratch_lab("k")
    seen: set[int] = set()
    outcomes = []
    for point, reached in _KILL_POINTS:
        building = _start_up(lab.prefix)
        _wait(lambda: reached(lab) or building.poll() is not None, 120, point)  # noqa: B023
        building.send_signal(signal.SIGKILL)
        building.communicate(timeout=30)
        stage = str(_state(lab).get("stage"))
        seen |= lab.pids()
        status = _holdtime_lab("status", "--prefix", lab.prefix)
        repair = _holdtime_lab("up", "--prefix", lab.prefix)
        seen |= lab.pids()
        ping = lab.exec("app", ["ping", "-c", "2", "-i", "0.2", "-W", "1", "172.16.1.10"], False)
        outcomes.append(
            (
                point,
                stage != "built",
                status.returncode,
                f"it stopped during: {stage})" in status.stdout,
                "  missing: processes " in status.stdout or stage == "inventory",
                repair.returncode,
                "half-built lab found" in repair.stderr,
                lab.bgp_states(),
                ping.returncode,
            )
        )
        lab.down()
    expected = [(p, True, 1, True, True, 0, True, _ESTABLISHED, 0) for p, _ in _KILL_POINTS]
    assert expected == outcomes
    assert [] == _leftovers(lab)
    assert [] == sorted(pid for pid in seen if not zombie(pid))


def test_status_fails_and_up_repairs_without_bgpd(scratch_lab: Callable[[str], Lab]) -> None:
    """With the router's bgpd killed, status exits 1 naming bgpd and BGP; `up` rebuilds it."""
    lab = scratch_lab("b")
    assert 0 == _holdtime_lab("up", "--prefix", lab.prefix).returncode
    bgpd = _spawned(lab)["router-bgpd"]
    os.kill(bgpd, signal.SIGKILL)
    _wait(lambda: zombie(bgpd), 10, "bgpd gone")
    status = _holdtime_lab("status", "--prefix", lab.prefix)
    repair = _holdtime_lab("up", "--prefix", lab.prefix)
    missing = [line for line in status.stdout.splitlines() if line.startswith("  missing: ")]
    assert 1 == status.returncode
    assert [
        "  missing: processes bgpd on router",
        "  missing: BGP 10.10.10.2 Established (no answer from bgpd on router)",
        "  missing: BGP 10.10.10.6 Established (no answer from bgpd on router)",
    ] == missing
    assert (0, _ESTABLISHED) == (repair.returncode, lab.bgp_states()), repair.stderr
    assert 0 == _holdtime_lab("status", "--prefix", lab.prefix).returncode


def test_concurrent_ups_take_turns(scratch_lab: Callable[[str], Lab]) -> None:
    """A second `lab up` of one prefix waits for the first's lock, then finds the lab up."""
    lab = scratch_lab("c")
    first = _start_up(lab.prefix)
    _wait(lambda: _holds_lock(lab, first), 60, "the first `up` holding the lock")
    second = _start_up(lab.prefix)
    first_out, first_err = first.communicate(timeout=300)
    second_out, second_err = second.communicate(timeout=300)
    assert (0, 0) == (first.returncode, second.returncode), first_err + second_err
    assert True is first_out.splitlines()[-1].startswith("up in "), first_out
    assert [f"lab {lab.prefix} already up: nothing started"] == second_out.splitlines()
    waiting = f"lab: waiting for another `holdtime lab up --prefix {lab.prefix}` (pid {first.pid})"
    assert [waiting] == [line for line in second_err.splitlines() if "waiting" in line]
    assert True is lab.is_up()


def test_up_with_other_settings_refuses_a_running_lab(scratch_lab: Callable[[str], Lab]) -> None:
    """`up --bfd` on a lab running without BFD is exit 2 naming both, not "already up"."""
    lab = scratch_lab("s")
    assert 0 == _holdtime_lab("up", "--prefix", lab.prefix).returncode
    pids = lab.pids()
    other = _holdtime_lab("up", "--prefix", lab.prefix, "--bfd")
    assert (2, pids) == (other.returncode, lab.pids())
    assert [
        f"holdtime: error: lab {lab.prefix} is up with BGP timers 3/9 without BFD, not BGP timers "
        f"3/9 with BFD: `holdtime lab down --prefix {lab.prefix}` first to change them"
    ] == other.stderr.splitlines()


def test_down_waits_for_a_running_up(scratch_lab: Callable[[str], Lab]) -> None:
    """`down` during `up` waits for it, then removes the lab it built; `status` says it runs."""
    lab = scratch_lab("d")
    building = _start_up(lab.prefix)
    _wait(lambda: _holds_lock(lab, building), 60, "`up` holding the lock")
    status = _holdtime_lab("status", "--prefix", lab.prefix)
    down = _holdtime_lab("down", "--prefix", lab.prefix)
    up_out, up_err = building.communicate(timeout=300)
    waiting = (
        f"lab: waiting for another `holdtime lab up --prefix {lab.prefix}` (pid {building.pid})"
    )
    assert (0, 0) == (building.returncode, down.returncode), up_err + down.stderr
    assert True is up_out.splitlines()[-1].startswith("up in "), up_out
    assert [waiting] == [line for line in down.stderr.splitlines() if "waiting" in line]
    assert [] == _leftovers(lab)
    running = f"`holdtime lab up --prefix {lab.prefix}` (pid {building.pid}) is running"
    assert (1, True) == (status.returncode, running in status.stdout.splitlines()[0]), status.stdout
