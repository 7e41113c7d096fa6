"""strongSwan's stroke interface for real: starter + charon pairs in namespaces, read as a router.

tests/fixtures/strongswan/record.sh brings up two namespaces with the Debian starter, charon,
the stroke plugin and userspace ESP; the test enters side A's mount and network namespaces
(nsenter) and reads it through the router probe's own strongSwan reader, `ipsec_interface: auto`:
swanctl runs, finds no vici socket, and the reader falls back to `ipsec statusall`.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from holdtime.checks.ipsec import ChildInstalledCheck, IkeEstablishedCheck, TrafficFlowingCheck
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes.command_reader import CommandReader
from holdtime.probes.ipsec_model import IpsecStatus
from holdtime.probes.router import RouterObservation, read_ipsec
from holdtime.probes.router_config import Router, SshAuth
from holdtime.probes.ssh import CommandOutput

pytestmark = [pytest.mark.integration]

RECORD = Path(__file__).resolve().parents[1] / "fixtures" / "strongswan" / "record.sh"
PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-")


@dataclass
class NsenterSession:
    """Runs a command line in the mount and network namespaces of one process (side A)."""

    pid: int

    def run(self, line: str) -> CommandOutput:
        started = time.monotonic()
        done = subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "-n", "sh", "-c", line],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return CommandOutput(
            line, done.stdout, done.stderr, done.returncode, time.monotonic() - started
        )


@pytest.fixture(scope="module")
def side_a(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NsenterSession]:
    """The recorded pair, running: tun and v1 installed, dead connecting, ondemand routed."""
    if os.geteuid() != 0:
        pytest.skip("needs root (namespaces, mounts)")
    if shutil.which("ipsec") is None or not Path("/usr/lib/ipsec/starter").exists():
        pytest.skip("strongswan-starter is not installed")
    out = tmp_path_factory.mktemp("stroke")
    env = {**os.environ, "HIP_HOLD": "1", "HIP_NS_PREFIX": PREFIX}
    pair = subprocess.Popen([str(RECORD), str(out)], env=env)
    try:
        session = _wait_for_tunnels(out, pair)
        yield session
    finally:
        (out / "release").touch()
        pair.wait(timeout=120)


def _wait_for_tunnels(out: Path, pair: subprocess.Popen[bytes]) -> NsenterSession:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if pair.poll() is not None:
            raise AssertionError(f"record.sh exited {pair.returncode} before the tunnels came up")
        pid_file = out / "a" / "pid"
        if pid_file.exists() and pid_file.read_text().strip():
            session = NsenterSession(int(pid_file.read_text()))
            text = session.run("ipsec status").stdout
            if text.count("INSTALLED") >= 2:
                return session
        time.sleep(0.5)
    raise AssertionError("tun and v1 were not INSTALLED within 90 s")


def _target() -> Target:
    router = Router(
        name="stroke-a",
        host="10.77.0.1",
        username="root",
        auth=SshAuth(agent=True),
        platforms=("strongswan",),
    )
    return Target(name="stroke-a", device="stroke-a", config=router)


def _verdicts(results: Sequence[CheckResult]) -> dict[str, str]:
    return {r.target.split("/", 1)[-1]: r.status.value for r in results}


def test_auto_reads_stroke_and_judges_each_tunnel(side_a: NsenterSession) -> None:
    """Live starter: auto falls back to stroke; tun and v1 PASS, dead/ondemand/idle FAIL."""
    target = _target()
    reader = CommandReader(side_a, target.config, "stroke-a")  # type: ignore[arg-type]
    status = read_ipsec(reader, target.config)
    observation = RouterObservation(
        device="stroke-a",
        platforms=("strongswan",),
        collected_at=dt.datetime.now(dt.UTC),
        ipsec=status,
    )
    assert "stroke" == reader.chosen["strongswan"]
    expected = {"tun": "pass", "ondemand": "fail", "v1": "pass", "dead": "fail", "idle": "fail"}
    assert expected == _verdicts(IkeEstablishedCheck().evaluate(target, observation))
    assert expected == _verdicts(ChildInstalledCheck().evaluate(target, observation))


def test_traffic_through_one_tunnel_is_seen_between_two_reads(side_a: NsenterSession) -> None:
    """Pings through `tun` between two stroke reads: tun PASS, v1 (idle) FAIL."""
    target = _target()
    reader = CommandReader(side_a, target.config, "stroke-a")  # type: ignore[arg-type]
    first = read_ipsec(reader, target.config)
    began = time.monotonic()
    side_a.run("ping -c 3 -i 0.2 -I 10.1.0.1 10.2.0.1")
    later = read_ipsec(reader, target.config, again=True)
    observation = RouterObservation(
        device="stroke-a",
        platforms=("strongswan",),
        collected_at=dt.datetime.now(dt.UTC),
        ipsec=first,
        ipsec_later=later,
        sample_interval_seconds=time.monotonic() - began,
    )
    verdicts = _verdicts(TrafficFlowingCheck().evaluate(target, observation))
    assert ("pass", "fail") == (verdicts["tun"], verdicts["v1"])
    assert isinstance(first, IpsecStatus)
