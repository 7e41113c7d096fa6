"""The `dns` family against the lab's real named on dc1 and dc2, asked from app across the tunnels.

Each fault is made on one controller only, the way it happens: a record deleted by a dynamic
update (replication drift), a wrong PTR, UDP 53 dropped by nftables, named stopped.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.models import CheckResult, RunResult, Status
from holdtime.probes.dns_config import DnsGroup
from holdtime.runner import run_checks

pytestmark = [pytest.mark.integration, pytest.mark.lab]

GROUP = "lab-directory"
DB = "db.lab.holdtime.test"


def _run(lab: Lab) -> RunResult:
    return run_checks(load_inventory(lab.inventory_path), only=("dns.*",))


def _by_key(run: RunResult) -> dict[tuple[str, str], CheckResult]:
    return {(r.check, r.target): r for r in run.results}


def _statuses(run: RunResult, resolver: str) -> set[Status]:
    """Statuses of every per-resolver result of `resolver`."""
    own = f"{GROUP}/{resolver}"
    return {r.status for r in run.results if r.target == own or r.target.startswith(own + "/")}


@contextmanager
def _updated(lab: Lab, node: str, change: list[str], undo: list[str]) -> Iterator[None]:
    lab.dns_update(node, change)
    try:
        yield
    finally:
        lab.dns_update(node, undo)


def test_controllers_are_reached_across_the_tunnel(lab: Lab) -> None:
    """The router sends traffic for dc1 and dc2 into the esg1 tunnel (BGP best path), not around."""
    routes = [
        lab.exec("router", ["ip", "-o", "route", "get", address]).stdout
        for address in ("172.16.1.11", "172.16.1.12")
    ]
    assert [True, True] == ["via 10.10.10.2 dev ipsec" in route for route in routes]


def test_healthy_lab_passes_every_dns_check(lab: Lab) -> None:
    """Both controllers answer every lab name, the same way, both ways, over UDP and TCP."""
    run = _run(lab)
    statuses = {r.status for r in run.results}
    names = len(load_inventory(lab.inventory_path).of(DnsGroup)[0].names)
    assert ({Status.PASS}, 2 * names * 2 + names + 2) == (statuses, len(run.results))


def test_record_removed_on_one_controller_is_named_by_consistent(lab: Lab) -> None:
    """db's A record deleted on dc2 only: dns.consistent FAILs naming both controllers' answers."""
    delete = [f"update delete {DB}. A"]
    add = [f"update add {DB}. 60 A 172.16.1.10"]
    with _updated(lab, "dc2", delete, add):
        results = _by_key(_run(lab))
    consistent = results[("dns.consistent", f"{GROUP}/{DB}")]
    resolves_dc1 = results[("dns.resolves", f"{GROUP}/dc1/{DB}")]
    resolves_dc2 = results[("dns.resolves", f"{GROUP}/dc2/{DB}")]
    assert (Status.FAIL, {"dc1": "172.16.1.10", "dc2": "NXDOMAIN"}) == (
        consistent.status,
        consistent.observed["answers"],
    )
    assert f"{DB}: dc1 answers 172.16.1.10; dc2 answers NXDOMAIN" == consistent.summary
    assert (Status.PASS, Status.FAIL) == (resolves_dc1.status, resolves_dc2.status)
    assert "dc2 says db.lab.holdtime.test does not exist (NXDOMAIN)" == resolves_dc2.summary


def test_wrong_ptr_fails_reverse_matches_on_that_controller(lab: Lab) -> None:
    """db's PTR on dc1 names app instead: dns.reverse_matches FAILs on dc1, dc2 still PASSes."""
    ptr = "10.1.16.172.in-addr.arpa."
    wrong = [f"update delete {ptr} PTR", f"update add {ptr} 60 PTR app.lab.holdtime.test."]
    right = [f"update delete {ptr} PTR", f"update add {ptr} 60 PTR {DB}."]
    with _updated(lab, "dc1", wrong, right):
        results = _by_key(_run(lab))
    dc1 = results[("dns.reverse_matches", f"{GROUP}/dc1/{DB}")]
    dc2 = results[("dns.reverse_matches", f"{GROUP}/dc2/{DB}")]
    assert (Status.FAIL, Status.PASS) == (dc1.status, dc2.status)
    assert "PTR of 172.16.1.10 on dc1 names app.lab.holdtime.test, not db.lab.holdtime.test" == (
        dc1.summary
    )


DROP_UDP_53 = """table inet holdtime_dns_test {
  chain input {
    type filter hook input priority -10;
    udp dport 53 drop
  }
}
"""


def test_udp_dropped_is_its_own_transport_finding(lab: Lab) -> None:
    """UDP 53 dropped on dc1: dns.transport FAILs naming UDP, dc1 still resolves over TCP."""
    lab.exec("dc1", ["nft", "-f", "-"], input_text=DROP_UDP_53)
    try:
        results = _by_key(_run(lab))
    finally:
        lab.exec("dc1", ["nft", "delete", "table", "inet", "holdtime_dns_test"])
    transport = results[("dns.transport", f"{GROUP}/dc1")]
    resolves = results[("dns.resolves", f"{GROUP}/dc1/{DB}")]
    assert (Status.FAIL, Status.PASS) == (
        transport.status,
        results[("dns.transport", f"{GROUP}/dc2")].status,
    )
    assert (
        "TCP answers, UDP 53 gets no answer: a firewall or the tunnel's MTU drops UDP"
        == transport.summary
    )
    assert (Status.PASS, "tcp") == (resolves.status, resolves.observed["transport"])


def test_named_stopped_errors_only_that_controller(lab: Lab) -> None:
    """named stopped on dc2: dc2's checks ERROR at the deadline, dc1's still PASS."""
    lab.stop_named("dc2")
    try:
        assert ["dc2-named"] == lab.findings(sessions=False).stopped
        run = _run(lab)
    finally:
        lab.start_named("dc2")
    results = _by_key(run)
    transport = results[("dns.transport", f"{GROUP}/dc2")]
    consistent = results[("dns.consistent", f"{GROUP}/{DB}")]
    assert ({Status.PASS}, {Status.ERROR}) == (_statuses(run, "dc1"), _statuses(run, "dc2"))
    assert "could not evaluate: dc2 answered neither UDP nor TCP" == transport.summary
    refused = "dc2 answered neither UDP nor TCP: UDP connection refused, TCP connection refused"
    assert (Status.ERROR, [refused]) == (consistent.status, list(consistent.reasons))


def test_named_restarts_and_answers_again(lab: Lab) -> None:
    """After a stop and start, the lab is whole again (lab status) and every DNS check passes."""
    lab.stop_named("dc1")
    lab.start_named("dc1")
    assert [] == lab.findings(sessions=False).stopped
    assert {Status.PASS} == {r.status for r in _run(lab).results}
