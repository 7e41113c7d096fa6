"""The DNS drill prober against a real named: every attempt accounted for, each outcome named."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from named_server import ScratchNamed, scratch_named

from holdtime.probes.dns_config import Resolver
from holdtime.probes.dns_prober import DnsPath, DnsProber

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
]

DB = "db.lab.holdtime.test"
DROP_UDP_53 = """table inet t {
  chain input {
    type filter hook input priority 0;
    udp dport 53 drop
  }
}
"""


@pytest.fixture
def named(tmp_path: Path) -> Iterator[ScratchNamed]:
    """A real named with the lab's zones in a scratch namespace."""
    with scratch_named(tmp_path) as server:
        yield server


def _paths(named: ScratchNamed) -> list[DnsPath]:
    resolver = Resolver("dc1", named.address)
    return [DnsPath(resolver, DB, transport=t, netns=named.netns) for t in ("udp", "tcp")]


def test_every_query_answered_when_named_is_up(named: ScratchNamed) -> None:
    """10 queries per path at 50 ms: every one answered with db's address, on both transports."""
    results = DnsProber(_paths(named), 0.05, late_after_seconds=1.0).run(count=10)
    assert [(10, {"answer": 10}, {("172.16.1.10",)})] * 2 == [
        (r.sent, r.outcomes, {a.records for a in r.attempts}) for r in results
    ]
    assert [10, 10] == [sum(1 for e in r.events if e.replied) for r in results]


def test_udp_dropped_loses_every_udp_query_and_no_tcp_one(named: ScratchNamed) -> None:
    """UDP 53 dropped: each UDP attempt is a timeout (lost), each TCP attempt still answers."""
    named.nft(DROP_UDP_53)
    udp, tcp = DnsProber(_paths(named), 0.05, late_after_seconds=0.3).run(count=5)
    assert ({"timeout": 5}, {"answer": 5}) == (udp.outcomes, tcp.outcomes)
    assert (5, 0) == (udp.failed, tcp.failed)


def test_named_stopped_is_connection_refused_not_lost(named: ScratchNamed) -> None:
    """With named stopped, each attempt is refused at once (ICMP unreachable / RST), counted."""
    named.stop()
    udp, tcp = DnsProber(_paths(named), 0.05, late_after_seconds=1.0).run(count=5)
    assert ({"connection_refused": 5}, {"connection_refused": 5}) == (udp.outcomes, tcp.outcomes)
    assert [False] * 10 == [e.replied for r in (udp, tcp) for e in r.events]


def test_nxdomain_is_a_failed_attempt_with_its_rcode(named: ScratchNamed) -> None:
    """A name the controller does not have: every attempt fails as NXDOMAIN, none is a reply."""
    path = DnsPath(Resolver("dc1", named.address), "gone.lab.holdtime.test", netns=named.netns)
    (result,) = DnsProber([path], 0.05).run(count=3)
    assert ({"nxdomain": 3}, {"NXDOMAIN"}) == (result.outcomes, {a.rcode for a in result.attempts})
