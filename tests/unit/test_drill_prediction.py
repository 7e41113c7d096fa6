"""The predicted outage: arithmetic from the timers as read, the failure kind, never a guess.

The BGP states are parsed from outputs recorded on an FRR trio (tests/fixtures/frr: esg1 with
timers 3/9 and BFD 300 ms x 3, esg2 with 60/180 and no BFD), through the FRR parsers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from holdtime.drill.prediction import (
    PathPrediction,
    compare,
    failure_kind,
    predict,
)
from holdtime.drill.scenario import Action
from holdtime.probes import frr
from holdtime.probes.bgp_model import BgpState

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "frr"
PREFIX = "172.16.1.0/24"
DROP = Action(kind="exec", argv=("nft", "-f", "/run/drop.nft"), netns="lab-esg1")
SHUT = Action(
    kind="ssh",
    device="esg1",
    command="vtysh -c 'conf t' -c 'router bgp 65010' -c 'neighbor 10.10.10.1 shutdown'",
)


def _text(command: str, case: str) -> str:
    return (FIXTURES / command / case / "output.txt").read_text()


def _state(route_case: str, *, bfd: bool = True, neighbors: str = "both-established") -> BgpState:
    """A BgpState as the observer reads it, from recorded outputs."""
    return BgpState(
        peers=frr.parse_frr_bgp_summary_json(
            _text("show-bgp-vrf-all-summary-json", "both-established")
        ),
        neighbors=frr.parse_frr_bgp_neighbors_json(
            _text("show-bgp-vrf-all-neighbors-json", neighbors)
        ),
        routes={
            PREFIX: frr.parse_frr_bgp_route_json(
                _text("show-bgp-ipv4-unicast-prefix-json", route_case)
            )
        },
        bfd_peers=frr.parse_frr_bfd_peers_json(_text("show-bfd-peers-json", "both-established"))
        if bfd
        else None,
    )


def _predict(
    trigger: Action, state: BgpState | str, destination: str = "172.16.1.10"
) -> PathPrediction:
    return predict(
        "app-to-db", destination, trigger, {"vpc-router-1": state}, {"vpc-router-1": [PREFIX]}
    )


def test_silent_failure_with_bfd_up_is_multiplier_times_receive_interval() -> None:
    """esg1 active with BFD Up 300 ms x 3: a silent failure is detected in about 0.9 s."""
    prediction = _predict(DROP, _state("both-established"))
    assert ("silent", 0.9, "bfd", "10.10.10.2", 0.9) == (
        prediction.failure,
        prediction.worst_case_seconds,
        prediction.detected_by,
        prediction.neighbor,
        prediction.silent_worst_case_seconds,
    )
    assert "BFD 300 ms x 3: about 0.9 s + route install" in prediction.basis
    assert "predicted ~0.9 s (silent failure; " in prediction.headline()


def test_silent_failure_without_bfd_waits_out_the_negotiated_hold_time() -> None:
    """No BFD session read for the active neighbor: up to the hold time (9 s negotiated)."""
    state = _state("both-established", bfd=False)
    state = dataclasses.replace(
        state,
        neighbors=tuple(dataclasses.replace(n, bfd_status=None) for n in state.neighbors),
    )
    prediction = _predict(DROP, state)
    assert (9.0, "hold_timer", 10.0) == (
        prediction.worst_case_seconds,
        prediction.detected_by,
        prediction.bound_seconds,
    )
    assert prediction.basis.endswith("hold time 9 s, no BFD: up to 9 s + route install")
    assert prediction.headline().startswith("predicted <= 9.0 s (silent failure; ")


def test_bfd_configured_but_down_falls_back_to_the_hold_time() -> None:
    """BFD configured on the neighbor but its session down: the hold timer decides, and says so."""
    state = _state("both-established", bfd=False)
    state = dataclasses.replace(
        state,
        neighbors=tuple(dataclasses.replace(n, bfd_status="Down") for n in state.neighbors),
    )
    prediction = _predict(DROP, state)
    assert (9.0, True) == (
        prediction.worst_case_seconds,
        "BFD configured but Down: up to 9 s" in prediction.basis,
    )


def test_clean_shutdown_is_about_zero_whatever_the_timers() -> None:
    """`neighbor ... shutdown` sends a NOTIFICATION: about 0 s; the silent case is kept beside."""
    prediction = _predict(SHUT, _state("both-established"))
    assert ("clean", 0.0, "notification", 0.9) == (
        prediction.failure,
        prediction.worst_case_seconds,
        prediction.detected_by,
        prediction.silent_worst_case_seconds,
    )


def test_timers_not_read_give_no_prediction_naming_the_router() -> None:
    """A failed read is never a prediction: "no prediction: timers not read from <router>"."""
    prediction = _predict(DROP, "vpc-router-1: `show bgp vrf all neighbors json` timed out")
    assert (None, None) == (prediction.worst_case_seconds, prediction.bound_seconds)
    assert prediction.basis.startswith("no prediction: timers not read from vpc-router-1 (")


def test_destination_outside_every_watched_prefix_gives_no_prediction() -> None:
    """The path's destination picks the prefix; none matches, nothing is predicted."""
    prediction = _predict(DROP, _state("both-established"), destination="10.99.0.1")
    assert (None, True) == (
        prediction.worst_case_seconds,
        "destination 10.99.0.1 is in no watched prefix" in prediction.basis,
    )


def test_prefix_without_a_best_path_gives_no_prediction() -> None:
    """The prefix is not in the table: there is no active path to predict for."""
    prediction = _predict(DROP, _state("prefix-not-in-table"))
    assert f"no prediction: vpc-router-1 shows no best path for {PREFIX}" == prediction.basis


def test_active_path_is_the_best_path_as_read() -> None:
    """With esg1 shut down the best path is esg2's: the prediction is about 10.10.10.6."""
    prediction = _predict(DROP, _state("esg1-admin-shutdown", neighbors="esg1-admin-shutdown"))
    assert "10.10.10.6" == prediction.neighbor


@pytest.mark.parametrize(
    ("action", "kind", "declared"),
    [
        (DROP, "silent", False),
        (SHUT, "clean", False),
        (Action(kind="signal", signal="STOP", process="bgpd"), "silent", False),
        (Action(kind="signal", signal="KILL", process="bgpd"), "clean", False),
        (Action(kind="ssh", device="esg1", command="ip link set up0 down"), "silent", False),
        (Action(kind="manual", prompt="pull the cable"), "silent", False),
        (Action(kind="manual", prompt="pull the cable", failure="clean"), "clean", True),
        (dataclasses.replace(DROP, failure="clean"), "clean", True),
    ],
)
def test_failure_kind_declared_or_inferred(action: Action, kind: str, declared: bool) -> None:
    """`failure:` wins; otherwise packet drops and freezes are silent, shutdowns and kills clean,
    and what holdtime cannot tell is the worst case (silent), saying so."""
    found = failure_kind(action)
    assert (kind, declared) == (found.kind, found.declared)
    assert found.why.startswith("declared" if declared else ("inferred", "assumed"))


def _made(worst: float | None, by: str = "hold_timer") -> PathPrediction:
    return PathPrediction("app-to-db", "silent", "", worst, "basis", detected_by=by)


@pytest.mark.parametrize(
    ("worst", "measured", "verdict"),
    [
        (9.0, 8.0, "within"),
        (9.0, 10.2, "within"),  # + 1 s route install + one 0.2 s probe interval
        (9.0, 10.4, "above"),
        (9.0, 20.2, "above"),
        (9.0, 20.4, "far_above"),
        (0.9, 1.0, "within"),
        (0.0, 0.0, "within"),
        (0.0, 5.0, "far_above"),
    ],
)
def test_measured_against_predicted(worst: float, measured: float, verdict: str) -> None:
    """Within: <= worst + 1 s + one interval; far above: over twice that, the finding to chase."""
    comparison = compare(_made(worst), measured, 0.2)
    assert verdict == comparison.verdict
    assert (verdict == "far_above") == bool(comparison.finding)


def test_comparison_reads_like_the_issue() -> None:
    """ "measured 8.0 s, predicted <= 9.0 s: within"; BFD "predicted ~0.9 s"."""
    assert "measured 8.0 s, predicted <= 9.0 s: within" == compare(_made(9.0), 8.0, 0.2).text
    assert "measured 1.0 s, predicted ~0.9 s: within" == compare(_made(0.9, "bfd"), 1.0, 0.2).text
    assert "no_prediction" == compare(_made(None), 3.0, 0.2).verdict


def test_prediction_round_trips_through_json() -> None:
    """to_dict/from_dict are inverse (the journal and the JSON report hold predictions)."""
    prediction = _predict(DROP, _state("both-established"))
    assert prediction == PathPrediction.from_dict(prediction.to_dict())
