"""The result of a drill that never finished (SIGKILL, crash, power loss), from its journal.

The journal holds every record written up to the end: the trigger and restore events, the
actions, the ping progress samples (four a second) and, for local paths, the per-probe records
streamed once a second. From those this module rebuilds the outage measured so far (exactly from
the probes where they were streamed) and, above all, whether the restore ever ran; from the
``prediction`` and ``change`` records, the prediction and the convergence events so far.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from holdtime.drill.events import ControlChange
from holdtime.drill.prediction import PathPrediction
from holdtime.drill.result import ATTEMPT_NOUNS, DrillResult, PhaseOutage, TimelineEvent
from holdtime.errors import ParseError

MAX_DRILL_SECONDS = 30 * 86400.0  # larger offsets in a journal are damage, not a drill


def _number(record: Mapping[str, Any], key: str, where: str) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ParseError(f"{where}: {record['type']} record without a number {key!r}")
    return float(value)


def _text(record: Mapping[str, Any], key: str, where: str) -> str:
    value = record.get(key, "")
    if not isinstance(value, str):
        raise ParseError(f"{where}: {record['type']} record with a non-text {key!r}")
    return value


def _events(numbered: Sequence[tuple[int, Mapping[str, Any]]], path: Path) -> list[TimelineEvent]:
    events = []
    for number, record in numbered:
        if record["type"] != "event":
            continue
        where = f"{path}:{number}"
        events.append(
            TimelineEvent(
                _number(record, "at_seconds", where),
                _text(record, "kind", where),
                _text(record, "detail", where),
                _text(record, "source", where),
            )
        )
    return events


def _phases_so_far(
    numbered: Sequence[tuple[int, Mapping[str, Any]]],
    start: Mapping[str, Any],
    trigger_at: float,
    path: Path,
) -> list[PhaseOutage]:
    """The failover outage per path from the last progress sample (lost probes x interval)."""
    intervals = start.get("paths") if isinstance(start.get("paths"), Mapping) else {}
    last: dict[str, tuple[Mapping[str, Any], float]] = {}
    for number, record in numbered:
        if record["type"] != "sample" or not isinstance(record.get("path"), str):
            continue
        where = f"{path}:{number}"
        at = _number(record, "at_seconds", where)
        if at >= trigger_at:
            current = float(record.get("current_gap_seconds") or 0.0)
            gap = max(last.get(record["path"], ({}, 0.0))[1], current)
            last[record["path"]] = (record, gap)
    phases = []
    for name, (sample, longest_gap) in sorted(last.items()):
        interval = intervals.get(name) if isinstance(intervals, Mapping) else None
        if not isinstance(interval, int | float):
            continue  # a journal written before intervals were journalled: no outage figure
        lost = int(sample.get("lost") or 0)
        phases.append(
            PhaseOutage(
                path=name,
                phase="failover",
                interval_seconds=float(interval),
                sent=int(sample.get("sent") or 0),
                lost=lost,
                loss_derived_outage_seconds=round(lost * float(interval), 6),
                gap_derived_outage_seconds=round(longest_gap, 4),
                episodes=(),
                **_budget(start, name),
                so_far=True,
                kind=_kind(start, name),
            )
        )
    return phases


def _kind(start: Mapping[str, Any], name: str) -> str:
    """ping, dns or ldaps, as the start record journalled it (ping in a journal from before)."""
    kinds = start.get("kinds")
    kind = kinds.get(name) if isinstance(kinds, Mapping) else None
    return kind if kind in ATTEMPT_NOUNS else "ping"


def _budget(start: Mapping[str, Any], name: str) -> dict[str, Any]:
    """budget_seconds and budget_from of a path, as the start record journalled them."""
    budgets = start.get("budgets")
    own = budgets.get(name) if isinstance(budgets, Mapping) else None
    if isinstance(own, list) and len(own) == 2 and isinstance(own[0], int | float):
        return {"budget_seconds": float(own[0]), "budget_from": str(own[1])}
    budget = start.get("budget_seconds")  # a journal from before per-path budgets
    return {"budget_seconds": float(budget) if isinstance(budget, int | float) else 0.0}


def _phases_from_probes(
    numbered: Sequence[tuple[int, Mapping[str, Any]]],
    start: Mapping[str, Any],
    path: Path,
) -> dict[str, PhaseOutage]:
    """The failover outage per path from the streamed per-probe records (exact, with episodes)."""
    from holdtime.gap import ProbeEvent, analyze

    intervals = start.get("paths") if isinstance(start.get("paths"), Mapping) else {}
    streamed: dict[str, list[ProbeEvent]] = {}
    late: dict[str, float] = {}
    for number, record in numbered:
        if record["type"] != "probes":
            continue
        where = f"{path}:{number}"
        name = _text(record, "path", where)
        try:
            streamed.setdefault(name, []).extend(
                ProbeEvent(int(seq), float(sent), None if got is None else float(got), bool(ok))
                for seq, sent, got, ok in record["events"]
            )
            late[name] = _number(record, "late_after_seconds", where)
        except (KeyError, TypeError, ValueError):
            raise ParseError(f"{where}: probes record with unreadable events") from None
    phases = {}
    for name, events in streamed.items():
        interval = intervals.get(name) if isinstance(intervals, Mapping) else None
        if not isinstance(interval, int | float) or not math.isfinite(interval) or interval <= 0:
            continue
        gap = analyze(events, float(interval), late[name])
        phases[name] = PhaseOutage(
            path=name,
            phase="failover",
            interval_seconds=float(interval),
            sent=gap.sent,
            lost=gap.lost,
            loss_derived_outage_seconds=round(gap.total_loss_derived_outage_seconds, 6),
            gap_derived_outage_seconds=gap.max_gap_derived_outage_seconds,
            episodes=tuple(e.to_dict() for e in gap.episodes),
            **_budget(start, name),
            so_far=True,
            kind=_kind(start, name),
        )
    return phases


def _predictions(
    numbered: Sequence[tuple[int, Mapping[str, Any]]], path: Path
) -> tuple[PathPrediction, ...]:
    found = []
    for number, record in numbered:
        if record["type"] != "prediction":
            continue
        try:
            found.append(PathPrediction.from_dict({k: v for k, v in record.items() if k != "type"}))
        except TypeError:
            raise ParseError(f"{path}:{number}: prediction record with unknown fields") from None
    return tuple(found)


def _changes(numbered: Sequence[tuple[int, Mapping[str, Any]]], path: Path) -> list[ControlChange]:
    found = []
    for number, record in numbered:
        if record["type"] != "change":
            continue
        where = f"{path}:{number}"
        found.append(
            ControlChange(
                key=_text(record, "key", where),
                before=_text(record, "before", where),
                after=_text(record, "after", where),
                earliest_seconds=_number(record, "earliest_seconds", where),
                latest_seconds=_number(record, "latest_seconds", where),
                source=_text(record, "source", where),
            )
        )
    return found


def partial_result(numbered: Sequence[tuple[int, Mapping[str, Any]]], path: Path) -> DrillResult:
    """A DrillResult (never passed) for a journal without a result record."""
    starts = [(n, r) for n, r in numbered if r["type"] == "start"]
    if not starts:
        raise ParseError(f"{path}: no drill start record: not a holdtime drill journal")
    number, start = starts[0]
    where = f"{path}:{number}"
    name = _text(start, "scenario", where)
    try:
        started = dt.datetime.fromisoformat(_text(start, "started_at", where))
    except ValueError:
        raise ParseError(f"{where}: start record with an unreadable started_at") from None
    if started.tzinfo is None:
        raise ParseError(f"{where}: start record with a started_at without a time zone")
    events = _events(numbered, path)
    times = [
        float(r["at_seconds"])
        for _n, r in numbered
        if isinstance(r.get("at_seconds"), int | float)
        and not isinstance(r["at_seconds"], bool)
        and 0 <= r["at_seconds"] < MAX_DRILL_SECONDS  # also drops NaN and infinities
    ]
    last = max(times or [0.0])
    actions = tuple(r for _n, r in numbered if r["type"] == "action")
    trigger_at = next((e.at_seconds for e in events if e.kind == "trigger"), None)
    restores = [a for a in actions if a.get("role") == "restore"]
    instruction = _text(start, "restore", where) or "run the drill's declared restore"
    restore_failed = ""
    restored: bool | None = None
    phases: list[PhaseOutage] = []
    if trigger_at is not None:
        # Per-probe records where they were streamed (local paths), progress samples elsewhere.
        exact = _phases_from_probes(numbered, start, path)
        sampled = _phases_so_far(numbered, start, trigger_at, path)
        phases = [exact.get(p.path, p) for p in sampled]
        phases += [p for name, p in sorted(exact.items()) if name not in {s.path for s in sampled}]
        ran_ok = [a for a in restores if a.get("exit_status", 1) == 0 and not a.get("error")]
        restored = bool(ran_ok)
        if not restores:
            restore_failed = f"trigger ran at {trigger_at:.1f} s, restore never ran: {instruction}"
        elif not ran_ok:
            restore_failed = f"restore failed: the trigger is still in effect; {instruction}"
    predictions = _predictions(numbered, path)
    convergence: tuple[Any, ...] = ()
    explained: tuple[Any, ...] = ()
    origin = start.get("clock_origin")
    if trigger_at is not None and isinstance(origin, int | float):
        from holdtime.drill.explain import explain_phases

        restore_at = next((e.at_seconds for e in events if e.kind == "restore"), None)
        roles = {str(a.get("role")): str(a.get("action", "")) for a in actions}
        convergence, explained = explain_phases(
            phases,
            _changes(numbered, path),
            predictions,
            trigger_at,
            restore_at,
            origin=float(origin),
            trigger_detail=roles.get("trigger", ""),
            restore_detail=roles.get("restore", ""),
        )
    return DrillResult(
        name=name,
        started_at=started,
        finished_at=started + dt.timedelta(seconds=last),
        predictions=predictions,
        convergence=convergence,
        explained=explained,
        passed=False,
        phases=tuple(phases),
        events=tuple(sorted(events, key=lambda e: e.at_seconds)),
        actions=actions,
        aborted="the drill did not finish (no result record): the journal ends "
        f"{last:.1f} s after the start",
        restored=restored,
        restore_failed=restore_failed,
    )
