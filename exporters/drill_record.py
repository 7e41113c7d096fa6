"""The drill-result record the metric exporters consume, and its metric families.

The drill engine fills a :class:`DrillRecord` (or hands its ``DrillResult`` to
:meth:`DrillRecord.from_drill_result`); the textfile and Pushgateway exporters render it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from holdtime.drill.result import DrillResult

OUTAGE_METHODS = ("loss", "gap")


@dataclass(frozen=True, slots=True)
class PathPhaseRecord:
    """What one ping path measured in one phase of a drill."""

    path: str
    phase: str  # failover | failback
    outage_seconds: Mapping[str, float | None]  # method (loss | gap) -> seconds, None = unknown
    probes_sent: int
    probes_lost: int
    probe_interval_seconds: float
    budget_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class DrillRecord:
    """One finished drill, as Prometheus sees it."""

    drill: str
    passed: bool
    finished_at: dt.datetime  # aware UTC
    paths: tuple[PathPhaseRecord, ...] = field(default_factory=tuple)
    restored: bool | None = None  # None: the trigger never ran (nothing to restore)
    measured: bool = True  # False: stopped before its trigger, so no figure is a measurement

    @classmethod
    def from_drill_result(cls, result: DrillResult) -> DrillRecord:
        """Adapt a holdtime.drill.result.DrillResult (name, passed, finished_at, phases)."""
        return cls(
            drill=result.name,
            passed=result.passed,
            finished_at=result.finished_at,
            restored=result.restored,
            measured=result.triggered,
            paths=tuple(
                PathPhaseRecord(
                    path=p.path,
                    phase=p.phase,
                    outage_seconds={
                        "loss": p.loss_derived_outage_seconds,
                        "gap": p.gap_derived_outage_seconds,
                    },
                    probes_sent=p.sent,
                    probes_lost=p.lost,
                    probe_interval_seconds=p.interval_seconds,
                    budget_seconds=p.budget_seconds,
                )
                for p in result.phases
                if not p.not_measured  # never published as a measurement
            ),
        )


def drill_families(records: tuple[DrillRecord, ...] | list[DrillRecord]) -> list[Any]:
    """Metric families of finished drills (prometheus_client Metric objects)."""
    from prometheus_client.core import GaugeMetricFamily

    path_labels = ["drill", "path", "phase"]
    outage = GaugeMetricFamily(
        "holdtime_failover_outage_seconds",
        "Outage the last drill measured on a path; method=loss: lost probes x interval, "
        "method=gap: longest gap between replies minus one interval.",
        labels=[*path_labels, "method"],
    )
    budget = GaugeMetricFamily(
        "holdtime_failover_outage_budget_seconds",
        "The outage budget of a path in the drill (from the inventory's expectations).",
        labels=path_labels,
    )
    sent = GaugeMetricFamily(
        "holdtime_failover_probes_sent",
        "Probes sent on a path during one phase of the last drill (a per-drill count).",
        labels=path_labels,
    )
    lost = GaugeMetricFamily(
        "holdtime_failover_probes_lost",
        "Probes lost on a path during one phase of the last drill (a per-drill count).",
        labels=path_labels,
    )
    interval = GaugeMetricFamily(
        "holdtime_failover_probe_interval_seconds",
        "Probe interval: no outage shorter than this is visible.",
        labels=path_labels,
    )
    last_run = GaugeMetricFamily(
        "holdtime_drill_last_run_timestamp_seconds",
        "Unix time the drill last finished.",
        labels=["drill"],
    )
    passed = GaugeMetricFamily(
        "holdtime_drill_passed", "1 when the last run of the drill passed.", labels=["drill"]
    )
    restored = GaugeMetricFamily(
        "holdtime_drill_restored",
        "1 when the last run's restore ran and was verified; 0: the trigger may still be in "
        "effect (the network may still be failed over).",
        labels=["drill"],
    )
    for record in records:
        if record.restored is not None:
            restored.add_metric([record.drill], 1.0 if record.restored else 0.0)
        if not record.measured:
            continue  # nothing measured: the last real run's figures stay
        last_run.add_metric([record.drill], record.finished_at.timestamp())
        passed.add_metric([record.drill], 1.0 if record.passed else 0.0)
        for p in record.paths:
            labels = [record.drill, p.path, p.phase]
            for method in OUTAGE_METHODS:
                value = p.outage_seconds.get(method)
                if value is not None:
                    outage.add_metric([*labels, method], float(value))
            if p.budget_seconds is not None:
                budget.add_metric(labels, float(p.budget_seconds))
            sent.add_metric(labels, float(p.probes_sent))
            lost.add_metric(labels, float(p.probes_lost))
            interval.add_metric(labels, p.probe_interval_seconds)
    return [restored, outage, budget, sent, lost, interval, last_run, passed]


def drill_registry(records: tuple[DrillRecord, ...] | list[DrillRecord]) -> Any:
    """A private CollectorRegistry holding the drill families."""
    from holdtime.exporters.metrics import registry_for

    return registry_for(drill_families(records))
