"""The kit checks are built from: a base class described by its data, and one result helper.

A check subclasses ``BaseCheck[Config, Observation]`` (``Config`` is its family's inventory
type, e.g. ``TcpTarget``; ``Observation`` what its probe returns), states what ``holdtime
describe`` prints as class data, and writes only ``evaluate()``::

    class PortOpenCheck(BaseCheck[TcpTarget, TcpObservation]):
        name = "tcp.port_open"
        probe = "tcp"
        summary = "The TCP port accepts a connection within the timeout."
        compares = "one TCP connect to host:port"
        statuses = {"pass": "connected", "fail": "refused, timed out or unreachable"}

        def evaluate(self, target, observation):
            if observation.state == "open":
                return [result(self.name, target, "", Status.PASS, "open")]
            ...

Every result is made with ``result()``; a target that holds nothing for the check to judge gets
the single SKIP of ``no_data()``. This module is not a check and registers none.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from holdtime.exporters.domain_metrics import MetricSpec
from holdtime.models import CheckResult, Status
from holdtime.plugins import CheckDescription, Target, Threshold

ConfigT = TypeVar("ConfigT")
"""The config type of the family's inventory entries (Router, VCenter, TcpTarget, ...)."""
ObservationT = TypeVar("ObservationT")
"""What the check's probe returns for one target (RouterObservation, TcpObservation, ...)."""


def subtarget(target: Target[object], suffix: str) -> str:
    """The result target `target/suffix` (the target itself when suffix is empty)."""
    return f"{target.name}/{suffix}" if suffix else target.name


def result(
    check: str,
    target: Target[object],
    suffix: str,
    status: Status,
    summary: str,
    *,
    observed: Mapping[str, object] | None = None,
    expected: Mapping[str, object] | None = None,
    reasons: Iterable[str] = (),
) -> CheckResult:
    """A CheckResult of `check` for `target/suffix` (the target itself when suffix is empty)."""
    return CheckResult(
        check=check,
        target=subtarget(target, suffix),
        device=target.device,
        status=status,
        summary=summary,
        observed=dict(observed or {}),
        expected=dict(expected or {}),
        reasons=tuple(reasons),
    )


def no_data(
    check: str,
    target: Target[object],
    summary: str,
    *,
    observed: Mapping[str, object] | None = None,
) -> list[CheckResult]:
    """The one SKIP result of a target that holds nothing for `check` to judge.

    The opening of an evaluate(): ``if not observation.switches: return no_data(...)``. The
    result is the target's own (no suffix), so every pytest item of the check on it skips.
    """
    return [result(check, target, "", Status.SKIP, summary, observed=observed)]


def default_of(config_type: type[object], field_name: str) -> object:
    """The default a config dataclass declares for a field, for a Threshold in describe().

    Defaults are declared once, in the family's config; a check's description reads them
    from there instead of restating them.
    """
    if not dataclasses.is_dataclass(config_type):
        raise TypeError(f"{config_type.__name__} is not a dataclass")
    for declared in dataclasses.fields(config_type):
        if declared.name != field_name:
            continue
        if declared.default is not dataclasses.MISSING:
            return declared.default
        if declared.default_factory is not dataclasses.MISSING:
            return declared.default_factory()
        raise ValueError(f"{config_type.__name__}.{field_name} has no default")
    raise ValueError(f"{config_type.__name__} has no field {field_name!r}")


def seconds_text(seconds: float | None) -> str:
    """`35 s`, `12 min`, `3 h 05 min`, `2 d 4 h`: durations for summaries."""
    if seconds is None:
        return "an unknown time"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 120:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h {minutes % 60:02d} min"
    return f"{hours // 24} d {hours % 24} h"


class BaseCheck(ABC, Generic[ConfigT, ObservationT]):
    """A check described by its class data; a subclass writes only ``evaluate()``.

    Class data a subclass sets: ``name`` (``family.what``), ``probe``, ``summary``,
    ``compares``, and where they apply ``thresholds`` and ``statuses`` (status value -> when),
    which ``describe()`` prints; ``reads`` (the observation sections it needs, so the probe can
    skip the others; empty: it may read anything); ``reports_unlisted_targets`` (True when
    ``evaluate`` may report targets ``expected_targets`` does not name); ``metrics`` (domain
    metrics read from its results' ``observed``, served by the exporter).
    """

    name: str
    probe: str
    summary: str
    compares: str
    thresholds: tuple[Threshold, ...] = ()
    statuses: Mapping[str, str] = {}
    reads: tuple[str, ...] = ()
    reports_unlisted_targets: bool = False
    metrics: tuple[MetricSpec, ...] = ()

    def describe(self) -> CheckDescription:
        """What `holdtime describe` prints, from the class data."""
        return CheckDescription(
            name=self.name,
            probe=self.probe,
            summary=self.summary,
            compares=self.compares,
            thresholds=self.thresholds,
            statuses=dict(self.statuses),
        )

    def applies_to(self, target: Target[ConfigT]) -> bool:
        """Whether the check runs on this target at all (every target unless overridden)."""
        return True

    def expected_targets(self, target: Target[ConfigT]) -> Sequence[str]:
        """The result targets the inventory alone names (none unless overridden; no I/O)."""
        return []

    @abstractmethod
    def evaluate(self, target: Target[ConfigT], observation: ObservationT) -> Sequence[CheckResult]:
        """Judge one observation of the target; no I/O."""
