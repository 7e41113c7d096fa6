"""IPsec checks judged on observations from recorded libreswan/strongSwan output and models."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from holdtime.checks.ipsec import (
    ChildInstalledCheck,
    IkeEstablishedCheck,
    RekeyOverdueCheck,
    TrafficFlowingCheck,
)
from holdtime.errors import ParseError
from holdtime.models import CheckResult
from holdtime.plugins import Check, Target
from holdtime.probes import ipsec
from holdtime.probes.command_reader import CommandReader
from holdtime.probes.ipsec_model import ChildConfig, ChildSa, ConnectionConfig, IkeSa, IpsecStatus
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import IpsecExpect, Router, RouterExpect, SshAuth
from holdtime.probes.ssh import CommandOutput
from holdtime.probes.strongswan_reader import read_strongswan

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CHECKS: list[Check] = [
    IkeEstablishedCheck(),
    ChildInstalledCheck(),
    TrafficFlowingCheck(),
    RekeyOverdueCheck(),
]


def target(tunnels: tuple[str, ...] = ("esg1", "esg2"), platform: str = "strongswan") -> Target:
    """A router expecting `tunnels` (none: every configured connection)."""
    router = Router(
        name="vpc-router-1",
        host="10.250.0.2",
        username="root",
        auth=SshAuth(agent=True),
        platforms=("frr", platform),
        expect=RouterExpect(ipsec=IpsecExpect(tunnels=tunnels)),
    )
    return Target(name="vpc-router-1", device="vpc-router-1", config=router)


def child(name: str, bytes_in: int, bytes_out: int, **changes: object) -> ChildSa:
    """An installed CHILD SA as swanctl reports it."""
    base = ChildSa(
        name=name,
        unique_id="#1",
        state="INSTALLED",
        installed=True,
        mode="TUNNEL-in-UDP",
        protocol="ESP",
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        installed_seconds=120,
        rekey_in_seconds=3000,
        local_ts=("0.0.0.0/0",),
        remote_ts=("0.0.0.0/0",),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def tunnel(name: str, *children: ChildSa, **changes: object) -> IkeSa:
    """An established IKE SA with its children."""
    base = IkeSa(
        name=name,
        unique_id="#1",
        state="ESTABLISHED",
        established=True,
        version="IKEv2",
        local_host="100.64.1.1",
        remote_host="100.64.1.2",
        established_seconds=120,
        rekey_in_seconds=13000,
        children=children,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


CONNS = (
    ConnectionConfig("esg1", "IKEv2", 14400, None, children=(ChildConfig("esg1", "TUNNEL", 3600),)),
    ConnectionConfig("esg2", "IKEv2", 14400, None, children=(ChildConfig("esg2", "TUNNEL", 3600),)),
)


def observation(first: IpsecStatus, later: IpsecStatus | None = None) -> RouterObservation:
    """A router observation with one or two IPsec reads 2 s apart."""
    return RouterObservation(
        device="vpc-router-1",
        platforms=("frr", first.stack),
        collected_at=dt.datetime(2026, 11, 23, tzinfo=dt.UTC),
        ipsec=first,
        ipsec_later=later,
        sample_interval_seconds=2.0 if later else 0.0,
    )


def healthy(bytes_in: int = 1000, bytes_out: int = 2000) -> IpsecStatus:
    """Both lab tunnels up with traffic counters."""
    return IpsecStatus(
        "strongswan",
        (
            tunnel("esg1", child("esg1", bytes_in, bytes_out)),
            tunnel("esg2", child("esg2", bytes_in, bytes_out), remote_host="100.64.2.2"),
        ),
        CONNS,
    )


def verdicts(results: list[CheckResult] | tuple[CheckResult, ...]) -> list[tuple[str, str]]:
    """(target, status) pairs."""
    return [(r.target, r.status.value) for r in results]


def test_every_check_meets_the_protocol_and_describes_itself() -> None:
    """Each IPsec check is a Check on the router probe and describes itself by name."""
    assert [(c.name, "router", True) for c in CHECKS] == [
        (c.describe().name, c.describe().probe, isinstance(c, Check)) for c in CHECKS
    ]


def test_healthy_tunnels_with_traffic_pass_everything() -> None:
    """Both tunnels established, installed, bytes growing, rekey on time: all PASS."""
    obs = observation(healthy(), healthy(1500, 2600))
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "pass")] * 4 == [
        v for check in CHECKS for v in verdicts(check.evaluate(target(), obs))
    ]


def test_traffic_summary_gives_the_deltas() -> None:
    """The traffic result says how many bytes moved each way during the interval."""
    results = TrafficFlowingCheck().evaluate(target(), observation(healthy(), healthy(1500, 2600)))
    assert "esg1: +500 B in, +600 B out in 2.0 s" == results[0].summary


def test_tunnel_down_fails_naming_it() -> None:
    """esg2 without any SA: IKE and child checks FAIL for esg2, saying it is configured."""
    down = replace(healthy(), ike_sas=healthy().ike_sas[:1])
    obs = observation(down)
    ike = IkeEstablishedCheck().evaluate(target(), obs)
    kids = ChildInstalledCheck().evaluate(target(), obs)
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(ike)
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(kids)
    assert "esg2: configured but no IKE SA" == ike[1].summary


def test_no_traffic_between_reads_fails() -> None:
    """Counters unchanged across the two reads: FAIL with a zero delta."""
    results = TrafficFlowingCheck().evaluate(target(), observation(healthy(), healthy()))
    assert [("vpc-router-1/esg1", "fail"), ("vpc-router-1/esg2", "fail")] == verdicts(results)
    assert 0 == results[0].observed["bytes_in_delta"]


def test_rekeyed_child_between_reads_counts_its_new_bytes() -> None:
    """A child SA replaced between the reads (new id) counts from zero, not as a negative."""
    later = replace(
        healthy(),
        ike_sas=(
            tunnel("esg1", child("esg1", 40, 0, unique_id="#2")),
            healthy().ike_sas[1],
        ),
    )
    (first, _) = TrafficFlowingCheck().evaluate(target(), observation(healthy(), later))
    assert ("pass", 40) == (first.status.value, first.observed["bytes_in_delta"])


def test_sampling_off_skips_traffic() -> None:
    """Without a second read the traffic check SKIPs (it never guesses)."""
    assert [("vpc-router-1", "skip")] == verdicts(
        TrafficFlowingCheck().evaluate(target(), observation(healthy()))
    )


def test_connecting_ike_sa_fails_with_its_state() -> None:
    """An IKE SA stuck in CONNECTING is not established: FAIL quoting the state."""
    stuck = replace(
        healthy(),
        ike_sas=(tunnel("esg1", state="CONNECTING", established=False), healthy().ike_sas[1]),
    )
    results = IkeEstablishedCheck().evaluate(target(), observation(stuck))
    assert "esg1: IKE SA not established (#1 CONNECTING)" == results[0].summary


def test_rekey_overdue_when_older_than_interval_plus_grace() -> None:
    """A child SA installed 4000 s ago with a 3600 s rekey interval is overdue (grace 300 s)."""
    old = replace(
        healthy(),
        ike_sas=(tunnel("esg1", child("esg1", 1, 1, installed_seconds=4000)), healthy().ike_sas[1]),
    )
    results = RekeyOverdueCheck().evaluate(target(), observation(old))
    assert [("vpc-router-1/esg1", "fail"), ("vpc-router-1/esg2", "pass")] == verdicts(results)
    assert ("CHILD SA esg1 #1 is 4000 s old, rekey interval 3600 s (+300 s grace)",) == results[
        0
    ].reasons


def test_negative_rekey_time_is_overdue() -> None:
    """A rekey time far in the past (libreswan `REKEY in -900s`) is overdue."""
    late = replace(
        healthy(),
        ike_sas=(tunnel("esg1", rekey_in_seconds=-900), healthy().ike_sas[1]),
    )
    (first, _) = RekeyOverdueCheck().evaluate(target(), observation(late))
    assert ("fail", ("IKE SA #1 should have rekeyed 900 s ago",)) == (
        first.status.value,
        first.reasons,
    )


def test_tunnel_without_sa_is_a_skip_not_silence() -> None:
    """No SA for esg2: rekey cannot be judged, said as a SKIP naming the tunnel."""
    down = replace(healthy(), ike_sas=(healthy().ike_sas[0],))
    results = RekeyOverdueCheck().evaluate(target(), observation(down))
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "skip")] == verdicts(results)
    assert results[1].summary.startswith("esg2: no established SA")


def _libreswan(case: str) -> IpsecStatus:
    text = (FIXTURES / "libreswan" / "ipsec-status" / case / "output.txt").read_text()
    return ipsec.libreswan_status(ipsec.parse_libreswan_status(text))


def test_libreswan_recording_ike_up_but_no_child_sa() -> None:
    """Recorded pluto (IKE up, no kernel ESP): IKE PASS, child FAIL, for every connection;
    the configured but idle eastnet-northnet FAILs by name."""
    obs = observation(_libreswan("responder-instance-and-idle-conn"))
    tgt = target(tunnels=(), platform="libreswan")
    ike = IkeEstablishedCheck().evaluate(tgt, obs)
    kids = ChildInstalledCheck().evaluate(tgt, obs)
    assert [
        ("vpc-router-1/east", "pass"),
        ("vpc-router-1/eastnet-northnet", "fail"),
        ("vpc-router-1/westnet-eastnet", "pass"),
    ] == verdicts(ike)
    assert ["fail", "fail", "fail"] == [r.status.value for r in kids]
    assert "eastnet-northnet: configured but no IKE SA" == ike[1].summary
    assert ("the IKE SA has no CHILD SA (negotiation failed or it was deleted)",) == kids[0].reasons


def test_expected_tunnel_that_is_not_configured_says_so() -> None:
    """An expected name with neither SA nor configuration FAILs and says it is not loaded."""
    obs = observation(_libreswan("initiator-two-ike-sas"))
    (result,) = IkeEstablishedCheck().evaluate(target(("esg9",), "libreswan"), obs)
    assert "esg9: no IKE SA (and no connection of that name is loaded)" == result.summary


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.name)
def test_unreadable_ipsec_section_is_error(check: Check) -> None:
    """If the SAs could not be read every IPsec check is ERROR: could not evaluate, and why."""
    obs = replace(
        observation(healthy()),
        ipsec=None,
        errors={"ipsec": "vpc-router-1: `swanctl --list-sas` exited 1: connecting failed"},
    )
    (result,) = check.evaluate(target(), obs)
    expected = "vpc-router-1: could not evaluate: `swanctl --list-sas` exited 1: connecting failed"
    assert ("error", expected) == (
        result.status.value,
        result.summary,
    )


def test_ipsec_checks_do_not_apply_to_an_frr_only_router() -> None:
    """applies_to keeps IPsec checks off routers without strongswan/libreswan."""
    router = Router(name="r", host="h", username="u", auth=SshAuth(agent=True), platforms=("frr",))
    frr_only = Target(name="r", device="r", config=router)
    assert [False] * 4 == [c.applies_to(frr_only) for c in CHECKS]  # type: ignore[attr-defined]


def _swanctl(command: str, case: str) -> str:
    return (FIXTURES / "strongswan" / command / case / "output.txt").read_text()


def test_recorded_strongswan_reads_show_traffic_on_esg1_only() -> None:
    """Two recorded reads around 10 pings: esg1 PASSes traffic; esg2 (no CHILD SA) FAILs."""
    conns = ipsec.parse_swanctl_list_conns(_swanctl("swanctl-list-conns", "two-connections"))
    first = IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "traffic-read-1")),
        conns,
    )
    second = replace(
        first, ike_sas=ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "traffic-read-2"))
    )
    obs = observation(first, second)
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(
        TrafficFlowingCheck().evaluate(target(), obs)
    )
    assert [("vpc-router-1/esg1", "pass"), ("vpc-router-1/esg2", "fail")] == verdicts(
        ChildInstalledCheck().evaluate(target(), obs)
    )
    assert "esg1: +840 B in, +840 B out in 2.0 s" == (
        TrafficFlowingCheck().evaluate(target(), obs)[0].summary
    )


def test_recorded_connecting_tunnel_fails_ike_check() -> None:
    """The recorded CONNECTING esg1 (peer silent) is a FAIL quoting the state."""
    status = IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "esg1-connecting-peer-silent")),
        ipsec.parse_swanctl_list_conns(_swanctl("swanctl-list-conns", "two-connections")),
    )
    results = IkeEstablishedCheck().evaluate(target(), observation(status))
    assert [
        ("fail", "esg1: IKE SA not established (#4 CONNECTING)"),
        ("pass", "esg2: IKE SA #3 ESTABLISHED for 38 s (100.64.9.1 <-> 100.64.9.2)"),
    ] == [(r.status.value, r.summary) for r in results]


def test_recorded_no_sas_fails_every_configured_tunnel_by_name() -> None:
    """No SA at all (recorded empty listing) with tunnels unlisted: each configured one FAILs."""
    status = IpsecStatus(
        "strongswan",
        ipsec.parse_swanctl_list_sas(_swanctl("swanctl-list-sas", "no-sas")),
        ipsec.parse_swanctl_list_conns(_swanctl("swanctl-list-conns", "two-connections")),
    )
    results = IkeEstablishedCheck().evaluate(target(tunnels=()), observation(status))
    assert [
        ("fail", "esg1: configured but no IKE SA"),
        ("fail", "esg2: configured but no IKE SA"),
    ] == [(r.status.value, r.summary) for r in results]


def test_expected_targets_are_the_listed_tunnels() -> None:
    """One target per expect.ipsec.tunnels entry; none listed: [] (every connection judged)."""
    assert [["vpc-router-1/esg1", "vpc-router-1/esg2"]] * 4 == [
        c.expected_targets(target())  # type: ignore[attr-defined]
        for c in CHECKS
    ]
    assert [[]] * 4 == [c.expected_targets(target(tunnels=())) for c in CHECKS]  # type: ignore[attr-defined]


def test_results_only_for_expected_tunnels_or_the_router() -> None:
    """A configured connection the inventory does not list gets no result (nothing unlisted)."""
    obs = observation(healthy(), healthy(1500, 2600))
    only_esg1 = target(tunnels=("esg1",))
    assert {"vpc-router-1/esg1"} == {
        r.target for check in CHECKS for r in check.evaluate(only_esg1, obs)
    }
    assert [False] * 4 == [getattr(c, "reports_unlisted_targets", None) for c in CHECKS]


# -- stroke, libreswan 3.x-5.4 and the unknown-line contract --------------------------------
def _text(tool: str, command: str, case: str) -> str:
    return (FIXTURES / tool / command / case / "output.txt").read_text()


def test_stroke_recording_judged_per_tunnel() -> None:
    """Recorded `ipsec statusall`: tun and v1 PASS; dead (CONNECTING), ondemand, idle FAIL."""
    status = ipsec.parse_stroke_statusall(
        _text("strongswan", "ipsec-statusall", "initiator-ikev2-ikev1-connecting-idle")
    )
    obs = observation(status)
    every = target(tunnels=())
    assert [
        ("vpc-router-1/tun", "pass"),
        ("vpc-router-1/ondemand", "fail"),
        ("vpc-router-1/v1", "pass"),
        ("vpc-router-1/dead", "fail"),
        ("vpc-router-1/idle", "fail"),
    ] == verdicts(IkeEstablishedCheck().evaluate(every, obs))
    assert [
        ("vpc-router-1/tun", "pass"),
        ("vpc-router-1/ondemand", "fail"),
        ("vpc-router-1/v1", "pass"),
        ("vpc-router-1/dead", "fail"),
        ("vpc-router-1/idle", "fail"),
    ] == verdicts(ChildInstalledCheck().evaluate(every, obs))


def test_libreswan_on_demand_connection_is_judged_not_absent() -> None:
    """A `prospective erouted` connection without SAs is a FAIL naming it, never left out."""
    status = ipsec.parse_libreswan_status(
        _text("libreswan", "ipsec-status", "v3.32-prospective-erouted")
    )
    (result,) = IkeEstablishedCheck().evaluate(
        target(tunnels=(), platform="libreswan"), observation(ipsec.libreswan_status(status))
    )
    assert (
        "vpc-router-1/westnet-eastnet-ikev2",
        "fail",
        "westnet-eastnet-ikev2: configured but no IKE SA",
    ) == (
        result.target,
        result.status.value,
        result.summary,
    )


def test_libreswan_5_4_established_tunnel_passes() -> None:
    """libreswan 5.4's token-less state lines give an established IKE SA and installed child."""
    status = ipsec.parse_libreswan_status(
        _text("libreswan", "ipsec-auto-status", "v5.4-ikev1-isakmp-established-routed-tunnel")
    )
    obs = observation(ipsec.libreswan_status(status))
    every = target(tunnels=(), platform="libreswan")
    assert [("vpc-router-1/northnet-westnet-ipv4-psk", "pass")] * 2 == [
        *verdicts(IkeEstablishedCheck().evaluate(every, obs)),
        *verdicts(ChildInstalledCheck().evaluate(every, obs)),
    ]


# Outputs whose parsed model the checks judge, with the function that builds the model.
_JUDGED: dict[str, Callable[[str], IpsecStatus]] = {
    "swanctl-list-sas": lambda text: IpsecStatus("strongswan", ipsec.parse_swanctl_list_sas(text)),
    "ipsec-statusall": ipsec.parse_stroke_statusall,
    "ipsec-status@strongswan": ipsec.parse_stroke_status,
    "ipsec-status@libreswan": lambda text: ipsec.libreswan_status(
        ipsec.parse_libreswan_status(text)
    ),
    "ipsec-auto-status": lambda text: ipsec.libreswan_status(ipsec.parse_libreswan_status(text)),
    "ipsec-whack-showstates": lambda text: ipsec.libreswan_status(
        ipsec.libreswan_showstates_status(text)
    ),
    "ipsec-showstates": lambda text: ipsec.libreswan_status(
        ipsec.libreswan_showstates_status(text)
    ),
}


def _judged_cases() -> list[tuple[str, Path]]:
    cases = []
    for tool in ("strongswan", "libreswan"):
        for meta in sorted((FIXTURES / tool).glob("*/*/meta.json")):
            command = meta.parent.parent.name
            key = command if command in _JUDGED else f"{command}@{tool}"
            if key in _JUDGED and "raises" not in (meta.parent / "expected.json").read_text():
                cases.append((key, meta.parent))
    return cases


def _verdicts_of(
    build: Callable[[str], IpsecStatus], text: str, tool: str
) -> list[tuple[str, str]]:
    every = target(tunnels=(), platform=tool)
    try:
        obs = observation(build(text))
    except ParseError as exc:
        obs = replace(observation(IpsecStatus(tool)), ipsec=None, errors={"ipsec": str(exc)})
    return [v for check in CHECKS for v in verdicts(check.evaluate(every, obs))]


_UNKNOWN_LINE = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=60
).filter(lambda line: line.strip() != "")


@pytest.mark.parametrize(
    ("key", "case"), _judged_cases(), ids=lambda v: v if isinstance(v, str) else v.name
)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_unknown_line_never_changes_a_verdict_silently(key: str, case: Path, data: Any) -> None:
    """An unknown line inserted anywhere: the checks say ERROR naming it, or the line was parsed."""
    tool = case.parent.parent.name
    build = _JUDGED[key]
    text = (case / "output.txt").read_text()
    lines = text.splitlines(keepends=True)
    position = data.draw(st.integers(0, len(lines)), label="position")
    line = data.draw(_UNKNOWN_LINE, label="line")
    mutated = "".join([*lines[:position], line + "\n", *lines[position:]])
    try:
        model: IpsecStatus | None = build(mutated)
        error = ""
    except ParseError as exc:
        model, error = None, str(exc)
    if model is None:
        assert f"line {position + 1} of `" in error or " says " in error
        assert {"error"} == {status for _, status in _verdicts_of(build, mutated, tool)}
    elif model == build(text):  # accepted as a listed noise line: it may not change anything
        assert _verdicts_of(build, text, tool) == _verdicts_of(build, mutated, tool)


def _replay(outputs: dict[str, CommandOutput]) -> tuple[CommandReader, list[str]]:
    sent: list[str] = []

    class Session:
        def run(self, line: str) -> CommandOutput:
            sent.append(line)
            return outputs[line]

    router = Router(name="vpc-router-1", host="h", username="u", auth=SshAuth(agent=True))
    return CommandReader(Session(), router), sent


def _out(command: str, stdout: str = "", stderr: str = "", exit_status: int = 0) -> CommandOutput:
    return CommandOutput(command, stdout, stderr, exit_status, 0.01)


def _real(argv: list[str], env: dict[str, str] | None = None) -> CommandOutput:
    """Run a real command here (swanctl without charon, bash without swanctl)."""
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=30)
    return _out(" ".join(argv), done.stdout, done.stderr, done.returncode)


_STATUSALL = "initiator-ikev2-ikev1-connecting-idle"


@pytest.mark.parametrize(
    "swanctl_fails",
    [
        pytest.param(
            lambda: _real(["/bin/bash", "-c", "swanctl --list-sas"], env={"PATH": "/nonexistent"}),
            id="swanctl-not-installed",
        ),
        pytest.param(
            lambda: _real(["swanctl", "--list-sas", "--uri", "unix:///nonexistent/charon.vici"]),
            id="no-vici-socket",
        ),
    ],
)
def test_auto_interface_falls_back_to_stroke(swanctl_fails: Callable[[], CommandOutput]) -> None:
    """auto: swanctl missing or without vici socket -> `ipsec statusall`, kept for the 2nd read."""
    if shutil.which("swanctl") is None:
        pytest.skip("swanctl is not installed here")
    stroke = _text("strongswan", "ipsec-statusall", _STATUSALL)
    reader, sent = _replay(
        {"swanctl --list-sas": swanctl_fails(), "ipsec statusall": _out("ipsec statusall", stroke)}
    )
    router = Router(name="r", host="h", username="u", auth=SshAuth(agent=True))
    first = read_strongswan(reader, router)
    again = read_strongswan(reader, router, again=True)
    assert ["swanctl --list-sas", "ipsec statusall", "ipsec statusall"] == sent
    assert [["dead", "v1", "tun"]] * 2 == [[sa.name for sa in s.ike_sas] for s in (first, again)]


def test_stroke_interface_never_runs_swanctl_and_swanctl_never_falls_back() -> None:
    """`ipsec_interface: stroke` reads only stroke; `swanctl` reports swanctl's failure."""
    stroke = _text("strongswan", "ipsec-statusall", _STATUSALL)
    reader, sent = _replay({"ipsec statusall": _out("ipsec statusall", stroke)})
    base = Router(name="r", host="h", username="u", auth=SshAuth(agent=True))
    read_strongswan(reader, replace(base, ipsec_interface="stroke"))
    assert ["ipsec statusall"] == sent
    missing = _out("swanctl --list-sas", "", "bash: line 1: swanctl: command not found", 127)
    reader, sent = _replay({"swanctl --list-sas": missing})
    with pytest.raises(ParseError, match="exited 127"):
        read_strongswan(reader, replace(base, ipsec_interface="swanctl"))


def test_auto_interface_names_both_failures() -> None:
    """Neither swanctl nor stroke answers (starter down): one ParseError naming both."""
    missing = _out("swanctl --list-sas", "", "bash: line 1: swanctl: command not found", 127)
    not_running = (
        FIXTURES / "strongswan/ipsec-statusall/starter-not-running/output.txt"
    ).read_text()
    reader, _ = _replay(
        {
            "swanctl --list-sas": missing,
            "ipsec statusall": _out("ipsec statusall", not_running, "", 3),
        }
    )
    with pytest.raises(
        ParseError, match=r"`swanctl --list-sas` failed .* stroke fallback too: .*exited 3"
    ):
        read_strongswan(reader, Router(name="r", host="h", username="u", auth=SshAuth(agent=True)))


def test_libreswan_recording_with_two_peers_ondemand_and_dead_peer() -> None:
    """Recorded west (4.10): two peers PASS; on-demand, dead-peer, idle and OE templates FAIL."""
    status = ipsec.parse_libreswan_status(
        _text("libreswan", "ipsec-status", "west-two-peers-ondemand-oe-never")
    )
    results = IkeEstablishedCheck().evaluate(
        target(tunnels=(), platform="libreswan"), observation(ipsec.libreswan_status(status))
    )
    assert {
        "west-east": "pass",
        "west-north": "pass",
        "never": "fail",
        "ondemand": "fail",
        "idle": "fail",
        "clear": "fail",
        "clear#10.89.0.0/24": "fail",
        "private-or-clear": "fail",
        "private-or-clear#10.88.0.0/24": "fail",
    } == {r.target.split("/", 1)[1]: r.status.value for r in results}
    never = next(r for r in results if r.target.endswith("/never"))
    assert "never: IKE SA not established (#3 STATE_V2_PARENT_I1)" == never.summary


def test_unreadable_line_makes_every_ipsec_check_error_naming_it() -> None:
    """A section error from an unknown line reads `could not evaluate: line N of `cmd` ...`."""
    text = _text("libreswan", "ipsec-status", "v5.0-routed-ondemand").splitlines(keepends=True)
    text.insert(6, "frobnicated 3 tunnels\n")
    try:
        ipsec.parse_libreswan_status("".join(text))
        message = ""
    except ParseError as exc:
        message = f"vpc-router-1: {exc}"
    obs = replace(observation(IpsecStatus("libreswan")), ipsec=None, errors={"ipsec": message})
    results = [r for check in CHECKS for r in check.evaluate(target(platform="libreswan"), obs)]
    assert {
        "vpc-router-1: could not evaluate: line 7 of `ipsec status` not understood: "
        "'frobnicated 3 tunnels'"
    } == {r.summary for r in results}
    assert {"error"} == {r.status.value for r in results}


def test_unknown_counters_are_not_zero_traffic() -> None:
    """A child whose counters are unknown is left out: SKIP alone, never a 'no traffic' FAIL."""
    unknown = replace(
        healthy(),
        ike_sas=(tunnel("esg1", replace(child("esg1", 0, 0), bytes_in=None, bytes_out=None)),),
    )
    mixed_later = replace(
        healthy(),
        ike_sas=(
            tunnel(
                "esg1",
                replace(child("esg1", 0, 0), bytes_in=None, bytes_out=None),
                child("esg1", 900, 900, unique_id="#2"),
            ),
        ),
    )
    mixed_first = replace(
        mixed_later,
        ike_sas=(
            tunnel(
                "esg1",
                replace(child("esg1", 0, 0), bytes_in=None, bytes_out=None),
                child("esg1", 100, 100, unique_id="#2"),
            ),
        ),
    )
    check = TrafficFlowingCheck()
    (alone,) = check.evaluate(target(("esg1",)), observation(unknown, unknown))
    (mixed,) = check.evaluate(target(("esg1",)), observation(mixed_first, mixed_later))
    assert ("skip", "pass", 800) == (
        alone.status.value,
        mixed.status.value,
        mixed.observed["bytes_in_delta"],
    )
