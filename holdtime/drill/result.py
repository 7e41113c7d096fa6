"""The drill result record: outage per path and phase, control-plane timeline, verdict."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from holdtime.drill.events import ConvergenceEvent, ExplainedEpisode
from holdtime.drill.prediction import PathPrediction
from holdtime.models import CheckResult, Status

# What a path's attempts are called, by the path's kind; the kinds whose attempts end in named
# outcomes, and the outcome that is each one's success (listed first in reports).
ATTEMPT_NOUNS = {"ping": "probes", "dns": "queries", "ldaps": "handshakes"}
OUTCOME_KINDS = ("dns", "ldaps")
ATTEMPT_TITLES = {"dns": "DNS queries", "ldaps": "LDAPS handshakes"}
SUCCESSES = ("answer", "handshake")


@dataclass(frozen=True, slots=True)
class TimelineEvent:
    """Something that happened during a drill, seconds after the drill's start."""

    at_seconds: float
    kind: str  # trigger, restore, abort, bgp, best_path, ipsec, loss_start, recovered, ...
    detail: str
    source: str = ""  # device or path name


@dataclass(frozen=True, slots=True)
class PhaseOutage:
    """What one path saw in one phase (failover: trigger..restore, failback: after).

    A DNS path (``kind="dns"``) counts its queries as probes: a query without records of the
    asked type in time is lost, and ``outcomes`` says how its attempts ended. An LDAPS path
    (``kind="ldaps"``) does the same with handshakes: one not verified in time is lost.
    """

    path: str
    phase: str  # failover | failback
    interval_seconds: float  # the resolution: no outage shorter than this is visible
    sent: int
    lost: int
    loss_derived_outage_seconds: float  # lost x interval
    gap_derived_outage_seconds: float | None  # longest gap between replies minus one interval
    episodes: tuple[Mapping[str, Any], ...]
    budget_seconds: float
    not_measured: str = ""  # why these probes are no measurement of the phase ("restore failed")
    so_far: bool = False  # the drill never finished: the outage up to its last journal record
    budget_from: str = ""  # the inventory key of the budget: the path's own, else the drill's
    kind: str = "ping"  # ping | dns | ldaps (a `dns_paths:` / `ldaps_paths:` entry)
    outcomes: Mapping[str, int] = field(default_factory=dict)  # dns: {"answer": 40, "timeout": 9}

    @property
    def attempts_noun(self) -> str:
        """What the path's attempts are called in a report: probes, queries or handshakes."""
        return ATTEMPT_NOUNS.get(self.kind, "probes")

    @property
    def within_budget(self) -> bool:
        """True when the loss-derived outage fits the budget (never for a phase not measured)."""
        return not self.not_measured and self.loss_derived_outage_seconds <= self.budget_seconds


@dataclass(frozen=True, slots=True)
class DrillResult:
    """Everything a drill measured, rendered by every report format and exported as metrics."""

    name: str
    started_at: dt.datetime
    finished_at: dt.datetime
    passed: bool
    phases: tuple[PhaseOutage, ...]
    events: tuple[TimelineEvent, ...]
    actions: tuple[Mapping[str, Any], ...]  # what ran, where, exit status
    steady_state: Mapping[str, str] = field(default_factory=dict)  # before/after -> verdict
    aborted: str = ""  # why the drill stopped early, "" when it ran to the end
    rtt_samples: Mapping[str, tuple[tuple[float, float | None], ...]] = field(
        default_factory=dict
    )  # path -> (seconds since start, rtt seconds or None when lost), for the timeline
    restored: bool | None = None  # None: the trigger never ran, so there was nothing to restore
    restore_failed: str = ""  # "restore failed: ...; run `CMD` on DEVICE", "" when restored
    # -- why the outage lasted as long as it did (holdtime.drill.prediction, .events) --
    predictions: tuple[PathPrediction, ...] = ()  # per ping path, made before the trigger
    convergence: tuple[ConvergenceEvent, ...] = ()  # every event, ordered, offsets from trigger
    explained: tuple[ExplainedEpisode, ...] = ()  # per loss episode: its events, vs prediction
    poll_resolution_seconds: float | None = None  # the slowest poll after the trigger (±)

    @property
    def exit_code(self) -> int:
        """The CLI's exit code: 2 restore failed, aborted or interrupted; 1 failed; 0 passed."""
        if self.restore_failed or self.aborted:
            return 2
        return 0 if self.passed else 1

    @property
    def triggered(self) -> bool:
        """True when the trigger ran: only then did the drill measure anything."""
        return any(e.kind == "trigger" for e in self.events)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (RunResult.extras["drills"] holds these)."""
        return {
            "name": self.name,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "passed": self.passed,
            "aborted": self.aborted,
            "restored": self.restored,
            "restore_failed": self.restore_failed,
            "phases": [
                {
                    **asdict(p),
                    "outcomes": dict(p.outcomes),
                    "episodes": [dict(e) for e in p.episodes],
                    "within_budget": p.within_budget,
                }
                for p in self.phases
            ],
            "events": [asdict(e) for e in self.events],
            "actions": [dict(a) for a in self.actions],
            "steady_state": dict(self.steady_state),
            "rtt_samples": {k: [list(s) for s in v] for k, v in self.rtt_samples.items()},
            "predictions": [p.to_dict() for p in self.predictions],
            "convergence": [e.to_dict() for e in self.convergence],
            "explained": [e.to_dict() for e in self.explained],
            "poll_resolution_seconds": self.poll_resolution_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DrillResult:
        """Inverse of :meth:`to_dict`."""
        phases = []
        for raw in data.get("phases", ()):
            fields = {k: v for k, v in raw.items() if k != "within_budget"}
            fields["episodes"] = tuple(fields.get("episodes", ()))
            phases.append(PhaseOutage(**fields))
        return cls(
            name=data["name"],
            started_at=dt.datetime.fromisoformat(data["started_at"]),
            finished_at=dt.datetime.fromisoformat(data["finished_at"]),
            passed=bool(data["passed"]),
            aborted=str(data.get("aborted", "")),
            restored=None if data.get("restored") is None else bool(data["restored"]),
            restore_failed=str(data.get("restore_failed", "")),
            phases=tuple(phases),
            events=tuple(TimelineEvent(**e) for e in data.get("events", ())),
            actions=tuple(data.get("actions", ())),
            steady_state=dict(data.get("steady_state", {})),
            rtt_samples={
                k: tuple((float(t), None if r is None else float(r)) for t, r in v)
                for k, v in data.get("rtt_samples", {}).items()
            },
            predictions=tuple(PathPrediction.from_dict(p) for p in data.get("predictions", ())),
            convergence=tuple(ConvergenceEvent(**e) for e in data.get("convergence", ())),
            explained=tuple(ExplainedEpisode.from_dict(e) for e in data.get("explained", ())),
            poll_resolution_seconds=data.get("poll_resolution_seconds"),
        )

    def check_results(self) -> list[CheckResult]:
        """The drill as CheckResults, so the table/JUnit/Markdown reports show it too."""
        results = [self._completed()] if self.restore_failed or self.aborted else []
        for phase in self.phases:
            if phase.not_measured:
                results.append(
                    CheckResult(
                        check="drill.outage",
                        target=f"{self.name}/{phase.path}/{phase.phase}",
                        device=self.name,
                        status=Status.SKIP,
                        summary=f"{phase.phase}: not measured ({phase.not_measured})",
                    )
                )
                continue
            gap = phase.gap_derived_outage_seconds
            gap_text = f", gap-derived {gap:.2f} s" if gap is not None else ""
            # A killed drill's outage so far proves nothing when within budget: SKIP, not PASS.
            status = Status.PASS if phase.within_budget else Status.FAIL
            if phase.so_far and phase.within_budget:
                status = Status.SKIP
            summary = (
                f"{phase.phase}{' so far (the drill did not finish)' if phase.so_far else ''}: "
                f"{phase.lost} of {phase.sent} {phase.attempts_noun} lost"
                + (f" ({outcomes_text(phase.outcomes)})" if phase.outcomes else "")
                + ", loss-derived outage "
                f"{phase.loss_derived_outage_seconds:.2f} s{gap_text} "
                f"(resolution {phase.interval_seconds} s, budget {phase.budget_seconds} s"
                f"{_from(phase)})"
            )
            results.append(
                CheckResult(
                    check="drill.outage",
                    target=f"{self.name}/{phase.path}/{phase.phase}",
                    device=self.name,
                    status=status,
                    summary=summary,
                    observed={
                        "loss_derived_outage_seconds": phase.loss_derived_outage_seconds,
                        "gap_derived_outage_seconds": gap,
                        "lost": phase.lost,
                        "sent": phase.sent,
                        "resolution_seconds": phase.interval_seconds,
                        **(
                            {"outcomes": dict(phase.outcomes)}
                            if phase.kind in OUTCOME_KINDS
                            else {}
                        ),
                    },
                    expected={
                        "max_outage_seconds": phase.budget_seconds,
                        "budget_from": phase.budget_from,
                    },
                    reasons=()
                    if phase.within_budget
                    else (
                        f"outage {phase.loss_derived_outage_seconds:.2f} s exceeds the "
                        f"budget of {phase.budget_seconds} s{_from(phase)}",
                    ),
                )
            )
        results += self._prediction_results()
        for when, verdict in self.steady_state.items():
            results.append(
                CheckResult(
                    check="drill.steady_state",
                    target=f"{self.name}/{when}",
                    device=self.name,
                    status=Status.PASS if verdict == "pass" else Status.FAIL,
                    summary=f"steady state {when} the drill: {verdict}",
                )
            )
        return results

    def prediction_of(self, path: str) -> PathPrediction | None:
        """The prediction made for `path`, if any."""
        return next((p for p in self.predictions if p.path == path), None)

    def _prediction_results(self) -> list[CheckResult]:
        """drill.prediction per path: PASS within, WARN above (the finding), SKIP none made."""
        results = []
        for prediction in self.predictions:
            episodes = [
                e for e in self.explained if e.path == prediction.path and e.phase == "failover"
            ]
            phase = next(
                (p for p in self.phases if p.path == prediction.path and p.phase == "failover"),
                None,
            )
            target = f"{self.name}/{prediction.path}/failover"
            observed: dict[str, object] = {
                "failure": prediction.failure,
                "failure_why": prediction.failure_why,
            }
            expected = {
                "worst_case_seconds": prediction.worst_case_seconds,
                "bound_seconds": prediction.bound_seconds,
                "basis": prediction.basis,
            }
            reasons: tuple[str, ...] = ()
            if phase is None or phase.not_measured:
                status, summary, reasons = Status.SKIP, f"{prediction.headline()}; not measured", ()
            elif prediction.worst_case_seconds is None:
                status, summary, reasons = Status.SKIP, prediction.basis, ()
            else:
                from holdtime.drill.prediction import compare

                comparison = compare(
                    prediction, phase.loss_derived_outage_seconds, phase.interval_seconds
                )
                observed["loss_derived_outage_seconds"] = phase.loss_derived_outage_seconds
                observed["verdict"] = comparison.verdict
                status = Status.PASS if comparison.verdict == "within" else Status.WARN
                summary = f"{comparison.text} ({prediction.failure} failure; {prediction.basis})"
                reasons = (comparison.finding,) if comparison.finding else ()
                if comparison.verdict == "above":
                    reasons = (f"the outage is above what the timers allow ({prediction.basis})",)
                if phase.so_far:  # a killed drill: an outage so far proves nothing within
                    summary += " (so far: the drill did not finish)"
                    status = Status.SKIP if not reasons else status
            if episodes and episodes[0].control_plane_convergence_seconds is not None:
                observed["control_plane_convergence_seconds"] = episodes[
                    0
                ].control_plane_convergence_seconds
            results.append(
                CheckResult(
                    check="drill.prediction",
                    target=target,
                    device=self.name,
                    status=status,
                    summary=summary,
                    observed=observed,
                    expected=expected,
                    reasons=reasons,
                )
            )
        return results

    @property
    def _signalled(self) -> bool:
        return self.aborted.startswith("interrupted by ")

    def _completed(self) -> CheckResult:
        """drill.completed: ERROR for a failed restore or nothing measured, FAIL for an abort."""
        if self.restore_failed:
            return CheckResult(
                check="drill.completed",
                target=self.name,
                device=self.name,
                status=Status.ERROR,
                summary=self.restore_failed,
                reasons=tuple(r for r in (self.restore_failed, self.aborted) if r),
            )
        if not self.triggered:
            return CheckResult(
                check="drill.completed",
                target=self.name,
                device=self.name,
                status=Status.ERROR,
                summary=f"{'interrupted' if self._signalled else 'stopped'} before the trigger: "
                f"nothing measured ({self.aborted})",
                reasons=(self.aborted,),
            )
        return CheckResult(
            check="drill.completed",
            target=self.name,
            device=self.name,
            status=Status.FAIL,
            summary=f"drill aborted: {self.aborted}",
            reasons=(self.aborted,),
        )


def outcomes_text(outcomes: Mapping[str, Any]) -> str:
    """``answer 191, timeout 9``: how a DNS (or LDAPS) path's attempts ended, successes first."""
    order = sorted(outcomes, key=lambda outcome: (outcome not in SUCCESSES, outcome))
    return ", ".join(f"{outcome} {outcomes[outcome]}" for outcome in order)


def _from(phase: PhaseOutage) -> str:
    return f" from {phase.budget_from}" if phase.budget_from else ""
