"""The router probe reads the sections the selected checks name (Target.reads), per platform.

Each case replays outputs recorded from the real tools (tests/fixtures) through the probe; only
the SSH session is replaced, by one that answers a command line with a recorded output.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType

import pytest

from holdtime.errors import ConfigError
from holdtime.plugins import Deferred, Target
from holdtime.probes.router import RouterObservation, RouterProbe
from holdtime.probes.router_config import BestPathExpect, BgpExpect, Router, RouterExpect, SshAuth
from holdtime.probes.ssh import CommandOutput, SshParams

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _recorded(case: str) -> str:
    return (FIXTURES / case / "output.txt").read_text()


ANSWERS = {
    "show bgp vrf all summary json": _recorded(
        "frr/show-bgp-vrf-all-summary-json/both-established"
    ),
    "show bgp vrf all neighbors json": _recorded(
        "frr/show-bgp-vrf-all-neighbors-json/both-established"
    ),
    "show bgp ipv4 unicast 172.16.1.0/24 json": _recorded(
        "frr/show-bgp-ipv4-unicast-prefix-json/both-established"
    ),
    "show bfd peers json": _recorded("frr/show-bfd-peers-json/both-established"),
    "sysctl net.ipv4.ip_forward": "net.ipv4.ip_forward = 1\n",
    "swanctl --list-sas": _recorded("strongswan/swanctl-list-sas/responder"),
    "swanctl --list-conns": _recorded("strongswan/swanctl-list-conns/responder"),
    "ipsec status": _recorded("libreswan/ipsec-status/west-two-peers-ondemand-oe-never"),
    "ipsec trafficstatus": _recorded(
        "libreswan/ipsec-trafficstatus/west-two-peers-ondemand-oe-never"
    ),
}
FRR_READS = [
    "show bgp vrf all summary json",
    "show bgp vrf all neighbors json",
    "show bgp ipv4 unicast 172.16.1.0/24 json",
    "show bfd peers json",
]


class ReplaySession:
    """Answers one logical command per line; a vtysh batch (-E) is declined, as an old vtysh."""

    def __init__(self, answers: Mapping[str, str]) -> None:
        self.answers = answers
        self.lines: list[str] = []

    def __enter__(self) -> ReplaySession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def run(self, line: str) -> CommandOutput:
        self.lines.append(line)
        words = shlex.split(line.removeprefix("sudo -n "))
        logical = words[2] if words[:2] == ["vtysh", "-c"] else " ".join(words)
        if logical in self.answers:
            return CommandOutput(line, self.answers[logical], "", 0, 0.01)
        return CommandOutput(line, "", "% Unknown command\n", 1, 0.01)

    def logical(self) -> list[str]:
        """The single commands run (batches left out), in order, sudo and vtysh unwrapped."""
        sent = []
        for line in self.lines:
            words = shlex.split(line.removeprefix("sudo -n "))
            if words[:2] == ["vtysh", "-E"]:
                continue
            sent.append(words[2] if words[:2] == ["vtysh", "-c"] else " ".join(words))
        return sent


# vpc-router-1 of the reference deployment, expecting its best path via esg1
REFERENCE = Router(
    "vpc-router-1",
    "192.0.2.1",
    "holdtime",
    SshAuth(agent=True),
    expect=RouterExpect(bgp=BgpExpect(best_paths=(BestPathExpect("172.16.1.0/24", "10.10.10.2"),))),
)


def _router(platforms: tuple[str, ...], *, sudo: bool = False) -> Router:
    return replace(REFERENCE, platforms=platforms, sudo=sudo)


def _collect(
    router: Router, reads: frozenset[str] = frozenset()
) -> tuple[RouterObservation, ReplaySession, list[float]]:
    session = ReplaySession(ANSWERS)
    slept: list[float] = []

    def factory(_params: SshParams) -> ReplaySession:
        return session

    probe = RouterProbe(4.0, session_factory=factory, sleep=slept.append)  # type: ignore[arg-type]
    target = Target(name=router.name, device=router.name, config=router, reads=reads)
    return probe.collect(target, 30), session, slept


@pytest.mark.parametrize(
    ("reads", "expected"),
    [
        ({"system"}, ["sysctl net.ipv4.ip_forward"]),
        ({"bgp"}, FRR_READS),
        ({"ipsec"}, ["swanctl --list-sas", "swanctl --list-conns"]),
        (
            {"ipsec.traffic"},
            ["swanctl --list-sas", "swanctl --list-conns", "swanctl --list-sas"],
        ),
        (
            set(),
            [
                "swanctl --list-sas",
                "swanctl --list-conns",
                *FRR_READS,
                "sysctl net.ipv4.ip_forward",
                "swanctl --list-sas",
            ],
        ),
    ],
    ids=["system", "bgp", "ipsec", "ipsec.traffic", "everything"],
)
def test_reads_choose_the_commands(reads: set[str], expected: list[str]) -> None:
    """Target.reads picks the sections: `system` runs one sysctl, empty reads everything."""
    _, session, _ = _collect(_router(("frr", "strongswan")), frozenset(reads))
    assert expected == session.logical()


def test_system_only_leaves_the_other_sections_unread() -> None:
    """Reads {"system"}: ip_forward read, no BGP, no IPsec, one command, no traffic sleep."""
    observation, _, slept = _collect(_router(("frr", "strongswan")), frozenset({"system"}))
    assert (True, None, None, None, 1, []) == (
        observation.ip_forward,
        observation.bgp,
        observation.ipsec,
        observation.ipsec_later,
        observation.commands_run,
        slept,
    )


def test_everything_read_fills_each_section() -> None:
    """Empty reads: BGP peers and best path, SAs twice (after the sample sleep), ip_forward."""
    observation, _, slept = _collect(_router(("frr", "strongswan")))
    assert observation.bgp is not None
    assert observation.ipsec is not None
    best = observation.bgp.routes["172.16.1.0/24"].best_path
    assert (2, "10.10.10.2", True, True, {}) == (
        len(observation.bgp.peers),
        best.peer if best else None,
        observation.ipsec_later is not None,
        observation.ip_forward,
        dict(observation.errors),
    )
    assert 1 == len(slept)


def test_sudo_router_sends_every_read_under_sudo_n() -> None:
    """`sudo: true`: every line the probe sends starts with `sudo -n`, batches included."""
    _, session, _ = _collect(_router(("frr", "strongswan"), sudo=True))
    assert [] == [line for line in session.lines if not line.startswith("sudo -n ")]
    assert 9 == len(session.lines)  # one declined batch, eight single reads


def test_libreswan_router_is_read_through_libreswan() -> None:
    """A libreswan router: `ipsec status` and `ipsec trafficstatus`, never swanctl or vtysh."""
    observation, session, _ = _collect(_router(("libreswan",)), frozenset({"ipsec"}))
    assert ["ipsec status", "ipsec trafficstatus"] == session.logical()
    assert observation.ipsec is not None
    assert ("libreswan", ["never", "west-east", "west-north"]) == (
        observation.ipsec.stack,
        sorted(sa.name for sa in observation.ipsec.ike_sas),
    )


def test_router_without_routing_platform_reads_no_bgp() -> None:
    """Reads {"bgp"} on an IPsec-only router: nothing to run, BGP stays unread (None)."""
    observation, session, _ = _collect(_router(("strongswan",)), frozenset({"bgp"}))
    assert ([], None) == (session.logical(), observation.bgp)


def test_a_read_the_probe_does_not_offer_is_a_config_error() -> None:
    """A check declaring reads the probe has no section for is refused, never read as nothing."""
    with pytest.raises(ConfigError) as caught:
        _collect(_router(("frr",)), frozenset({"bgp", "bpg"}))
    assert (
        "vpc-router-1: the selected checks read bpg, which the router probe does not offer "
        "(bgp, ipsec, ipsec.traffic, system)"
    ) == str(caught.value)


class ClosingSession(ReplaySession):
    """A ReplaySession that records when the probe leaves it (the session's close)."""

    exits = 0

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.exits += 1


def _begin(reads: frozenset[str] = frozenset()) -> tuple[object, ClosingSession]:
    session = ClosingSession(ANSWERS)
    probe = RouterProbe(4.0, session_factory=lambda _params: session)  # type: ignore[arg-type,return-value]
    router = _router(("frr", "strongswan"))
    target = Target(name=router.name, device=router.name, config=router, reads=reads)
    return probe.begin(target, 30), session


def test_begin_hands_the_traffic_sample_back_with_the_session_open() -> None:
    """begin: every read but the second SA read, then a Deferred 4 s on; resume reads, closes."""
    deferred, session = _begin()
    assert isinstance(deferred, Deferred)
    read_before = session.logical()
    assert (0, "swanctl --list-sas") == (session.exits, read_before[0])
    observation = deferred.resume()
    assert isinstance(observation, RouterObservation)
    assert (1, ["swanctl --list-sas"], True) == (
        session.exits,
        session.logical()[len(read_before) :],
        observation.ipsec_later is not None,
    )
    deferred.close()  # after resume: nothing left to close
    assert 1 == session.exits


def test_a_closed_deferred_closes_the_session_once() -> None:
    """close() without resume (deadline, Ctrl-C) ends the session; twice is harmless."""
    deferred, session = _begin()
    assert isinstance(deferred, Deferred)
    deferred.close()
    deferred.close()
    assert 1 == session.exits


def test_begin_without_the_traffic_sample_answers_at_once() -> None:
    """No `ipsec.traffic` among the reads: the observation, the session already closed."""
    observation, session = _begin(frozenset({"ipsec", "bgp", "system"}))
    assert (True, 1) == (isinstance(observation, RouterObservation), session.exits)
