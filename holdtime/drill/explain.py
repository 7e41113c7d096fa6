"""A drill's phases and polled changes turned into its convergence story (holdtime.drill.events),
each failover episode set beside its path's prediction (holdtime.drill.prediction).

Used by the engine at the end of a drill and by holdtime.drill.partial for a killed drill's
journal, so both tell the story the same way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from holdtime.drill.events import (
    ControlChange,
    ConvergenceEvent,
    ExplainedEpisode,
    explain,
    loss_windows,
)
from holdtime.drill.prediction import PathPrediction, compare
from holdtime.drill.result import PhaseOutage


def explain_phases(
    phases: Sequence[PhaseOutage],
    changes: Sequence[ControlChange],
    predictions: Sequence[PathPrediction],
    trigger_at: float,
    restore_at: float | None,
    *,
    origin: float,
    trigger_detail: str = "",
    restore_detail: str = "",
) -> tuple[tuple[ConvergenceEvent, ...], tuple[ExplainedEpisode, ...]]:
    """holdtime.drill.events.explain over the phases' episodes, each failover episode set
    beside its path's prediction (also used for a killed drill's journal)."""
    windows = [
        window
        for p in phases
        if not p.not_measured
        for window in loss_windows(p.path, p.phase, p.interval_seconds, p.episodes, origin)
    ]
    timeline, episodes = explain(
        trigger_at,
        restore_at,
        changes,
        windows,
        trigger_detail=trigger_detail,
        restore_detail=restore_detail,
    )
    by_path = {p.path: p for p in predictions}
    compared = []
    for episode in episodes:
        prediction = by_path.get(episode.path)
        phase = next(
            (p for p in phases if p.path == episode.path and p.phase == episode.phase), None
        )
        if episode.phase != "failover" or prediction is None or phase is None:
            compared.append(episode)
            continue
        comparison = compare(prediction, phase.loss_derived_outage_seconds, phase.interval_seconds)
        compared.append(
            dataclasses.replace(episode, comparison=comparison.text, verdict=comparison.verdict)
        )
    return timeline, tuple(compared)
