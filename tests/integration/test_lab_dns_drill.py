"""A DNS drill path on the lab: dc1's named asked for db's name every 200 ms through a failover.

The lab inventory declares `dc1-db` under `dns_paths:`; these tests add it to a drill's probes
next to the `app-to-db` ping path and run the drill as `holdtime drill` wires it. A silent
failure (tunnel traffic dropped on esg1) loses queries like pings until the hold timer moves
the route; a clean BGP shutdown loses at most the query or two in flight as the route moves
(the ping path beside it loses the same probe: see docs/lab.md's drill table).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from drill_results import as_run, phase_of
from lab_drill import clean_shutdown, silent_failure

from holdtime.lab import Lab
from holdtime.reports import markdown, table

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for the lab"),
]

DNS_PATH = "dc1-db"


def test_silent_failure_loses_dns_queries_like_pings(lab: Lab, tmp_path: Path) -> None:
    """Tunnel drop on esg1: both paths see one outage; the DNS one counts its lost queries."""
    result = silent_failure(lab, tmp_path, "dns_paths", DNS_PATH)
    ping, dns = phase_of(result, "app-to-db", "failover"), phase_of(result, DNS_PATH, "failover")
    assert "" == result.aborted
    assert ("ping", "dns") == (ping.kind, dns.kind)
    assert (True, True) == (ping.lost > 0, dns.lost > 0), (ping, dns)
    assert (1, 1) == (len(ping.episodes), len(dns.episodes))
    # Every attempt is accounted for: answers plus failures (here: timeouts) are all it sent.
    assert dns.sent == sum(dns.outcomes.values()), dns.outcomes
    assert (dns.sent - dns.lost, True) == (dns.outcomes.get("answer"), dns.outcomes["timeout"] > 0)
    # Both paths ride the same route: the same outage within a couple of intervals.
    assert abs(ping.loss_derived_outage_seconds - dns.loss_derived_outage_seconds) <= 1.0
    [prediction] = [p for p in result.predictions if p.path == DNS_PATH]
    assert prediction.worst_case_seconds is not None, prediction.basis
    [story] = [line for line in table.render(as_run(result)).splitlines() if "DNS queries" in line]
    assert (True, True) == ("first failed query +" in story, "first answer again +" in story), story
    assert f"{dns.lost} of {dns.sent} lost in the failover" in story
    assert "DNS queries (answer" in markdown.render(as_run(result))


def test_clean_shutdown_loses_at_most_the_queries_in_flight(lab: Lab, tmp_path: Path) -> None:
    """`neighbor shutdown` on esg1 sends a NOTIFICATION: the queries move with the route.

    As the route is replaced, the query (and the ping) in flight at that moment can be lost: in
    the lab about one run in two loses one of each, at the same instant. Anything more than two,
    or any outcome but an answer or a timeout, is a regression.
    """
    result = clean_shutdown(lab, tmp_path, "dns_paths", DNS_PATH)
    failover, failback = (
        phase_of(result, DNS_PATH, "failover"),
        phase_of(result, DNS_PATH, "failback"),
    )
    assert ("", True, True) == (result.aborted, failover.sent > 20, failback.sent > 20)
    # The same bound as the ping path's in test_lab_drills: a probe or two in the failover.
    assert (True, True) == (failover.lost <= 2, failback.lost <= 1), (
        failover.outcomes,
        failback.outcomes,
    )
    for phase in (failover, failback):
        outcomes = dict(phase.outcomes)
        assert {"answer", "timeout"} >= set(outcomes), outcomes
        assert (phase.sent - phase.lost, phase.lost) == (
            outcomes.get("answer"),
            outcomes.get("timeout", 0),
        ), outcomes
        assert len(phase.episodes) <= 1, phase.episodes
