"""Drill observers read routers as `holdtime check` does; a failed read is never "no SAs".

Each case replays outputs recorded from the real tools (tests/fixtures) through the router
probe's own CommandReader; only the SSH session is replaced, by one that answers a command
line with a recorded output and exit status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import pytest

from holdtime.drill.observers import RouterObserver
from holdtime.probes.router_config import BestPathExpect, BgpExpect, Router, RouterExpect, SshAuth
from holdtime.probes.ssh import CommandOutput

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _recorded(case: str) -> tuple[str, int]:
    """(output, exit status) of a recorded fixture case."""
    folder = FIXTURES / case
    meta = json.loads((folder / "meta.json").read_text())
    return (folder / "output.txt").read_text(), int(meta.get("exit_status", 0))


class ReplaySession:
    """Answers each command line with the recorded output whose command it contains."""

    def __init__(self, answers: Mapping[str, tuple[str, int]]) -> None:
        self.answers = answers
        self.lines: list[str] = []

    def run(self, line: str) -> CommandOutput:
        self.lines.append(line)
        for command, (text, status) in self.answers.items():
            if command in line:
                stdout, stderr = (text, "") if status == 0 else ("", text)
                return CommandOutput(line, stdout, stderr, status, 0.01)
        return CommandOutput(line, "", "sh: 1: not found\n", 127, 0.01)

    def close(self) -> None:
        """Nothing to close."""


def _router(platforms: tuple[str, ...]) -> Router:
    return Router(
        name="vpc-router-1",
        host="192.0.2.1",
        username="holdtime",
        auth=SshAuth(agent=True),
        platforms=platforms,
        expect=RouterExpect(
            bgp=BgpExpect(best_paths=(BestPathExpect(prefix="172.16.1.0/24", via="10.10.10.2"),))
        ),
    )


def _poll(platforms: tuple[str, ...], answers: Mapping[str, tuple[str, int]]) -> dict[str, str]:
    session = ReplaySession(answers)
    observer = RouterObserver(_router(platforms), session_factory=lambda _router: session)
    return dict(observer.poll())


HEALTHY_FRR = {
    "show bgp vrf all summary json": _recorded(
        "frr/show-bgp-vrf-all-summary-json/both-established"
    ),
    "show bgp ipv4 unicast 172.16.1.0/24 json": _recorded(
        "frr/show-bgp-ipv4-unicast-prefix-json/both-established"
    ),
}


def test_healthy_router_snapshot_names_peers_best_path_and_sas() -> None:
    """Recorded healthy outputs give each peer's state, the best path and each tunnel's SAs."""
    snapshot = _poll(
        ("frr", "strongswan"),
        {**HEALTHY_FRR, "swanctl --list-sas": _recorded("strongswan/swanctl-list-sas/responder")},
    )
    assert "Established" == snapshot["vpc-router-1 bgp 10.10.10.2"]
    assert "10.10.10.2" == snapshot["vpc-router-1 best_path 172.16.1.0/24"]
    assert any(
        key.startswith("vpc-router-1 ipsec ") and value.endswith("/INSTALLED")
        for key, value in snapshot.items()
    )


def test_failed_swanctl_is_an_error_not_no_sas() -> None:
    """swanctl failing (no charon) with no stroke either is `error: ...`, never an empty SA list."""
    snapshot = _poll(
        ("strongswan",),
        {
            "swanctl --list-sas": _recorded("strongswan/swanctl-list-sas/charon-not-running"),
            "ipsec statusall": _recorded("strongswan/ipsec-statusall/starter-not-running"),
        },
    )
    assert ["vpc-router-1 ipsec"] == list(snapshot)
    assert snapshot["vpc-router-1 ipsec"].startswith("error: ")


def test_stroke_only_router_is_read_through_the_fallback() -> None:
    """A strongSwan 5.x router without vici is read with `ipsec statusall`, as the probe does."""
    snapshot = _poll(
        ("strongswan",),
        {
            "swanctl --list-sas": _recorded("strongswan/swanctl-list-sas/charon-not-running"),
            "ipsec statusall": _recorded("strongswan/ipsec-statusall/responder-two-tunnels"),
        },
    )
    assert snapshot
    assert all(key.startswith("vpc-router-1 ipsec ") for key in snapshot)
    assert not any(value.startswith("error") for value in snapshot.values())


@pytest.mark.parametrize("garbage", ["% Unknown command: show bgp\n", "{not json\n"])
def test_unreadable_best_path_is_an_error_not_none(garbage: str) -> None:
    """A best-path answer that cannot be read is `error: ...`; only `{}` means no path."""
    answers = {**HEALTHY_FRR, "show bgp ipv4 unicast 172.16.1.0/24 json": (garbage, 0)}
    snapshot = _poll(("frr",), answers)
    assert snapshot["vpc-router-1 best_path 172.16.1.0/24"].startswith("error: ")
    assert "Established" == snapshot["vpc-router-1 bgp 10.10.10.2"]


def test_prefix_not_in_table_is_none() -> None:
    """FRR's `{}` for a prefix it does not have is the recorded 'no best path'."""
    answers = {
        **HEALTHY_FRR,
        "show bgp ipv4 unicast 172.16.1.0/24 json": _recorded(
            "frr/show-bgp-ipv4-unicast-prefix-json/prefix-not-in-table"
        ),
    }
    assert "none" == _poll(("frr",), answers)["vpc-router-1 best_path 172.16.1.0/24"]


def test_failed_bgp_summary_is_one_error_key() -> None:
    """bgpd not running: the summary read is `error: ...` instead of every peer vanishing."""
    answers = {
        **HEALTHY_FRR,
        "show bgp vrf all summary json": _recorded(
            "frr/show-bgp-vrf-all-summary-json/bgpd-not-running"
        ),
    }
    snapshot = _poll(("frr",), answers)
    assert snapshot["vpc-router-1 bgp"].startswith("error: ")
    assert not any(key.startswith("vpc-router-1 bgp 10.") for key in snapshot)


def test_libreswan_router_is_polled_through_libreswan() -> None:
    """A libreswan router's SAs come from `ipsec status` + `ipsec trafficstatus`, not swanctl."""
    session = ReplaySession(
        {
            "ipsec status": _recorded("libreswan/ipsec-status/west-two-peers-ondemand-oe-never"),
            "ipsec trafficstatus": _recorded(
                "libreswan/ipsec-trafficstatus/west-two-peers-ondemand-oe-never"
            ),
        }
    )
    observer = RouterObserver(_router(("libreswan",)), session_factory=lambda _router: session)
    snapshot = dict(observer.poll())
    assert ["ipsec status", "ipsec trafficstatus"] == session.lines
    assert {
        "vpc-router-1 ipsec never": "STATE_V2_PARENT_I1/none",
        "vpc-router-1 ipsec west-east": "STATE_V2_ESTABLISHED_IKE_SA/none",
        "vpc-router-1 ipsec west-north": "STATE_V2_ESTABLISHED_IKE_SA/none",
    } == snapshot


def test_sudo_router_is_polled_under_sudo_n() -> None:
    """`sudo: true`: every poll line starts with `sudo -n`, and the snapshot is read as without."""
    answers = {
        **HEALTHY_FRR,
        "swanctl --list-sas": _recorded("strongswan/swanctl-list-sas/responder"),
    }
    plain, with_sudo = ReplaySession(answers), ReplaySession(answers)
    router = _router(("frr", "strongswan"))
    snapshots = [
        dict(RouterObserver(r, session_factory=lambda _router, s=s: s).poll())
        for r, s in ((router, plain), (replace(router, sudo=True), with_sudo))
    ]
    assert [] == [line for line in with_sudo.lines if not line.startswith("sudo -n ")]
    assert [f"sudo -n {line}" for line in plain.lines] == with_sudo.lines
    assert snapshots[0] == snapshots[1]


def test_bgp_poll_reads_timers_and_bfd_and_keeps_them_for_the_prediction() -> None:
    """A poll reads neighbor details and BFD: each BFD session is in the snapshot, the timers
    are kept (bgp_state) for the prediction made before the trigger."""
    answers = {
        **HEALTHY_FRR,
        "show bgp vrf all neighbors json": _recorded(
            "frr/show-bgp-vrf-all-neighbors-json/both-established"
        ),
        "show bfd peers json": _recorded("frr/show-bfd-peers-json/esg1-silent-drop-bfd-down"),
    }
    session = ReplaySession(answers)
    observer = RouterObserver(_router(("frr",)), session_factory=lambda _router: session)
    snapshot = observer.poll()
    state = observer.bgp_state
    assert ("down", "") == (snapshot["vpc-router-1 bfd 10.10.10.2"], observer.bgp_error)
    assert state is not None
    assert [9.0, 9.0] == [n.hold_time_seconds for n in state.neighbors]  # negotiated
