"""The check kit (holdtime.checks.kit, router_kit): describe from class data, result, SKIP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from holdtime.checks.bgp import TimersCheck
from holdtime.checks.kit import BaseCheck, default_of, no_data, result, seconds_text
from holdtime.checks.nfs import NfsMultipathCheck
from holdtime.checks.router_kit import section_error, section_or_results
from holdtime.checks.sioc import SiocThresholdCheck
from holdtime.checks.tcp import PortOpenCheck
from holdtime.models import CheckResult, Status
from holdtime.plugins import Check, CheckDescription, Target, Threshold
from holdtime.probes.router_config import BgpExpect, Router, SshAuth
from holdtime.probes.tcp_config import TcpTarget
from holdtime.probes.vsphere_config import VCenterExpect


@dataclass(frozen=True)
class Door:
    """A made-up family's config: one door that should be shut."""

    name: str
    shut: bool = True
    keys: tuple[str, ...] = field(default_factory=lambda: ("front",))


class DoorShutCheck(BaseCheck[Door, str]):
    """A made-up check written with the kit: only class data and evaluate()."""

    name = "door.shut"
    probe = "door"
    summary = "The door is shut."
    compares = "the door's state against expect.shut"
    thresholds = (Threshold("creak_seconds", 2.0, "seconds", "longer is a WARN"),)
    statuses = {"pass": "shut", "fail": "open"}

    def evaluate(self, target: Target[Door], observation: str) -> Sequence[CheckResult]:
        if not observation:
            return no_data(self.name, target, "the door was not looked at")
        status = Status.PASS if (observation == "shut") is target.config.shut else Status.FAIL
        return [result(self.name, target, "", status, f"the door is {observation}")]


DOOR = Target(name="house/door", device="house", config=Door("door"))


def test_describe_is_built_from_the_class_data() -> None:
    """describe() returns name, probe, summary, compares, thresholds and statuses as declared."""
    assert (
        CheckDescription(
            name="door.shut",
            probe="door",
            summary="The door is shut.",
            compares="the door's state against expect.shut",
            thresholds=(Threshold("creak_seconds", 2.0, "seconds", "longer is a WARN"),),
            statuses={"pass": "shut", "fail": "open"},
        )
        == DoorShutCheck().describe()
    )


def test_a_kit_check_has_the_protocol_defaults() -> None:
    """Unless overridden: applies everywhere, lists no targets, reports none unlisted, reads ()."""
    check = DoorShutCheck()
    assert isinstance(check, Check)
    assert (True, [], False, ()) == (
        check.applies_to(DOOR),
        list(check.expected_targets(DOOR)),
        check.reports_unlisted_targets,
        check.reads,
    )


def test_a_check_without_evaluate_cannot_be_made() -> None:
    """BaseCheck leaves evaluate() abstract: a check that forgets it fails when instantiated."""

    class Forgetful(BaseCheck[Door, str]):
        name = "door.forgetful"
        probe = "door"

    with pytest.raises(TypeError, match="evaluate"):
        Forgetful()  # type: ignore[abstract]


def test_result_names_target_suffix_and_device() -> None:
    """result() targets `target/suffix`, carries the device and copies what it is given."""
    observed = {"state": "open"}
    made = result(
        "door.shut",
        DOOR,
        "hinge",
        Status.FAIL,
        "the hinge is loose",
        observed=observed,
        expected={"state": "tight"},
        reasons=(r for r in ["screw missing"]),
    )
    observed["state"] = "changed after the fact"
    assert (
        CheckResult(
            check="door.shut",
            target="house/door/hinge",
            device="house",
            status=Status.FAIL,
            summary="the hinge is loose",
            observed={"state": "open"},
            expected={"state": "tight"},
            reasons=("screw missing",),
        )
        == made
    )


def test_result_without_suffix_is_the_targets_own() -> None:
    """An empty suffix gives the target's own name, with empty observed/expected/reasons."""
    made = result("door.shut", DOOR, "", Status.PASS, "shut")
    assert ("house/door", {}, {}, ()) == (made.target, made.observed, made.expected, made.reasons)


def test_no_data_is_the_single_skip_of_the_target() -> None:
    """The no-data opening is one SKIP of the target itself, with what was observed."""
    assert [
        CheckResult(
            check="door.shut",
            target="house/door",
            device="house",
            status=Status.SKIP,
            summary="no door",
            observed={"doors": 0},
        )
    ] == no_data("door.shut", DOOR, "no door", observed={"doors": 0})


def test_evaluate_opens_with_skip_then_judges() -> None:
    """A kit check skips an empty observation and judges a real one against its config."""
    check = DoorShutCheck()
    assert [Status.SKIP, Status.PASS, Status.FAIL] == [
        check.evaluate(DOOR, seen)[0].status for seen in ("", "shut", "open")
    ]


def test_default_of_reads_the_config_dataclass() -> None:
    """default_of() returns a field's default, or its default_factory's value."""
    assert (True, ("front",)) == (default_of(Door, "shut"), default_of(Door, "keys"))


@pytest.mark.parametrize(
    ("config_type", "field_name", "message"),
    [
        (Door, "name", "Door.name has no default"),
        (Door, "colour", "Door has no field 'colour'"),
        (str, "upper", "str is not a dataclass"),
    ],
)
def test_default_of_refuses_what_has_no_default(
    config_type: type[object], field_name: str, message: str
) -> None:
    """A field without a default, an unknown field or a non-dataclass is a clear error."""
    with pytest.raises((ValueError, TypeError)) as caught:
        default_of(config_type, field_name)
    assert message == str(caught.value)


@pytest.mark.parametrize(
    ("check", "threshold", "declared"),
    [
        (TimersCheck(), "max_hold_time_seconds", BgpExpect().max_hold_time_seconds),
        (NfsMultipathCheck(), "nfs_min_paths", VCenterExpect().nfs_min_paths),
        (SiocThresholdCheck(), "sioc_threshold_ms_min", VCenterExpect().sioc_threshold_ms_min),
        (SiocThresholdCheck(), "sioc_threshold_ms_max", VCenterExpect().sioc_threshold_ms_max),
        (PortOpenCheck(), "timeout_seconds", TcpTarget("t", "h", 1).timeout_seconds),
    ],
)
def test_described_thresholds_are_the_config_defaults(
    check: BaseCheck[object, object], threshold: str, declared: object
) -> None:
    """A threshold's default in describe() is the one its family's config declares."""
    defaults = {t.name: t.default for t in check.describe().thresholds}
    assert declared == defaults[threshold]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "an unknown time"), (35, "35 s"), (720, "12 min"), (11100, "3 h 05 min")],
)
def test_seconds_text(seconds: float | None, text: str) -> None:
    """Durations in summaries read as s, min, h and min."""
    assert text == seconds_text(seconds)


ROUTER = Target(
    name="r1",
    device="r1",
    config=Router(name="r1", host="192.0.2.1", username="u", auth=SshAuth(agent=True)),
)


def test_section_or_results_errors_when_the_section_could_not_be_read() -> None:
    """A section in errors ends the check with one ERROR of the router naming why."""
    [error] = section_or_results(  # type: ignore[misc]
        "bgp.x", ROUTER, {"bgp": "r1: vtysh failed"}, "bgp", "data", "not read"
    )
    assert ("r1", Status.ERROR, "r1: vtysh failed") == (error.target, error.status, error.summary)


def test_section_or_results_skips_a_section_not_read() -> None:
    """A section that was not read at all (None) ends the check with the no-data SKIP."""
    assert no_data("bgp.x", ROUTER, "BGP was not read") == section_or_results(
        "bgp.x", ROUTER, {}, "bgp", None, "BGP was not read"
    )


def test_section_or_results_returns_the_data_when_read() -> None:
    """With the section read and no error, the section's data comes back."""
    assert "data" == section_or_results("bgp.x", ROUTER, {"ipsec": "x"}, "bgp", "data", "-")


def test_section_error_names_the_suffix_it_was_needed_for() -> None:
    """With a suffix the ERROR is that one thing's (`r1/10.0.0.1`); without a match, None."""
    errors = {"bgp.route 10.0.0.0/8": "r1: lookup failed"}
    made = section_error("bgp.x", ROUTER, errors, "bgp.route 10.0.0.0/8", suffix="10.0.0.1")
    assert made is not None
    assert ("r1/10.0.0.1", Status.ERROR) == (made.target, made.status)
    assert section_error("bgp.x", ROUTER, errors, "bgp") is None
