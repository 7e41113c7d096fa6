"""An LDAPS drill path on the lab: a handshake to dc1's slapd every 500 ms through a failover.

The lab inventory declares `dc1-ldaps` under `ldaps_paths:` (dc1's `ldaps:` entry: from app,
verified against the lab CA); these tests add it to a drill's probes next to the `app-to-db`
ping path and run the drill as `holdtime drill` wires it. A silent failure (tunnel traffic
dropped on esg1) loses handshakes like pings until the hold timer moves the route; a clean BGP
shutdown loses at most the handshake or two in flight as the route moves (the ping path loses
the same probe).
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

LDAPS_PATH = "dc1-ldaps"
# What a handshake can become when the tunnel under it dies or moves: the connect or the TLS
# answer never comes (timeout), or a connection open as the route changes is reset.
FAILURES = {"timeout", "reset"}


def test_silent_failure_loses_ldaps_handshakes_like_pings(lab: Lab, tmp_path: Path) -> None:
    """Tunnel drop on esg1: both paths see one outage; the LDAPS one counts its lost handshakes."""
    result = silent_failure(lab, tmp_path, "ldaps_paths", LDAPS_PATH)
    ping, ldaps = (
        phase_of(result, "app-to-db", "failover"),
        phase_of(result, LDAPS_PATH, "failover"),
    )
    assert "" == result.aborted
    assert ("ping", "ldaps") == (ping.kind, ldaps.kind)
    assert (True, True) == (ping.lost > 0, ldaps.lost > 0), (ping, ldaps)
    assert (1, 1) == (len(ping.episodes), len(ldaps.episodes))
    # Every attempt is accounted for: handshakes plus failures are all it sent.
    outcomes = dict(ldaps.outcomes)
    assert ldaps.sent == sum(outcomes.values()), outcomes
    assert {"handshake"} | FAILURES >= set(outcomes), outcomes
    assert ldaps.sent - ldaps.lost == outcomes.get("handshake"), outcomes
    # Both paths ride the same route: the same outage within a couple of handshake intervals.
    assert abs(ping.loss_derived_outage_seconds - ldaps.loss_derived_outage_seconds) <= 1.5
    [prediction] = [p for p in result.predictions if p.path == LDAPS_PATH]
    assert prediction.worst_case_seconds is not None, prediction.basis
    [story] = [line for line in table.render(as_run(result)).splitlines() if "LDAPS hand" in line]
    assert f"LDAPS handshakes: {ldaps.lost} of {ldaps.sent} lost in the failover" in story, story
    assert ("first failed handshake +" in story, "first handshake again +" in story) == (
        True,
        True,
    ), story
    assert "LDAPS handshakes (handshake" in markdown.render(as_run(result))


def test_clean_shutdown_loses_at_most_the_handshakes_in_flight(lab: Lab, tmp_path: Path) -> None:
    """`neighbor shutdown` on esg1 sends a NOTIFICATION: the handshakes move with the route.

    As the route is replaced, the handshake (and the ping) in flight at that moment can be lost,
    as on the DNS path. More than two, or an outcome that is not a handshake, a timeout or a
    reset, is a regression.
    """
    result = clean_shutdown(lab, tmp_path, "ldaps_paths", LDAPS_PATH)
    failover = phase_of(result, LDAPS_PATH, "failover")
    failback = phase_of(result, LDAPS_PATH, "failback")
    assert ("", True, True) == (result.aborted, failover.sent > 8, failback.sent > 8)
    assert (True, True) == (failover.lost <= 2, failback.lost <= 2), (
        failover.outcomes,
        failback.outcomes,
    )
    for phase in (failover, failback):
        outcomes = dict(phase.outcomes)
        assert {"handshake"} | FAILURES >= set(outcomes), outcomes
        assert (phase.sent - phase.lost, phase.sent) == (
            outcomes.get("handshake"),
            sum(outcomes.values()),
        ), outcomes
        assert len(phase.episodes) <= 1, phase.episodes
