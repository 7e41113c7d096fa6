"""Why a drill's outage lasted as long as it did, as rows every report format renders.

Input is the JSON form of a DrillResult (``RunResult.extras["drills"][i]``): its
``predictions``, ``convergence`` (events on the trigger's time axis, holdtime.drill.events) and
``explained`` (per loss episode, the events inside it and the comparison with the prediction).
The table and Markdown reports print these rows; the HTML page puts them in a table.

A DNS path (a phase with ``kind: dns``) tells its outage the same way, in queries: its first
failed query, its first answer again, how many queries were lost and how they ended; an LDAPS
path (``kind: ldaps``) in handshakes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from holdtime.drill.result import ATTEMPT_TITLES, outcomes_text

_LABELS = {
    "trigger": "trigger sent",
    "last_keepalive": "last keepalive seen",
    "bfd_state": "BFD",
    "bgp_state": "BGP session",
    "best_path": "best path",
    "ipsec_sa": "IPsec SA",
    "last_reply": "last reply before the outage",
    "first_reply": "first reply again",
    "restore": "restore sent",
}


@dataclass(frozen=True, slots=True)
class Story:
    """One path and phase of a drill: its headline, the notes under it, and its events."""

    heading: str  # "app-to-db failover: measured 7.2 s, predicted <= 9.0 s: within"
    notes: tuple[str, ...]  # failure kind, basis, data-plane outage vs control-plane convergence
    events: tuple[tuple[str, str, str], ...]  # (offset ± resolution, plane, what happened)
    finding: str = ""  # the outage is far above the prediction: what to chase


def offset_text(event: Mapping[str, Any]) -> str:
    """``+8.10 s ±0.29 s``; an action (resolution 0) without the ±."""
    offset = float(event.get("offset_seconds", 0.0))
    resolution = float(event.get("resolution_seconds", 0.0))
    return f"{offset:+.2f} s" + (f" ±{resolution:.2f} s" if resolution else "")


def event_text(event: Mapping[str, Any]) -> str:
    """``BGP session 10.10.10.2 on vpc-router-1: Established -> Idle``."""
    kind = str(event.get("kind", ""))
    what = _LABELS.get(kind, kind)
    plane = event.get("plane")
    if kind == "last_keepalive":  # any BGP message read from the peer, to the second
        return f"{what} from {event.get('subject', '')} on {event.get('source', '')}"
    if plane == "control":
        return (
            f"{what} {event.get('subject', '')} on {event.get('source', '')}: "
            f"{event.get('before') or '?'} -> {event.get('after', '')}"
        )
    if plane == "data":
        detail = f" ({event['detail']})" if event.get("detail") else ""
        return f"{what} on {event.get('source', '')}{detail}"
    return f"{what}: {event['detail']}" if event.get("detail") else what


def _prediction_notes(prediction: Mapping[str, Any] | None) -> list[str]:
    if not prediction:
        return ["no prediction made (the drill predates predictions or watches no router)"]
    notes = [f"failure: {prediction.get('failure', '?')} ({prediction.get('failure_why', '')})"]
    worst = prediction.get("worst_case_seconds")
    if worst is None:
        notes.append(str(prediction.get("basis", "no prediction")))
    else:
        notes.append(f"prediction: {prediction.get('basis', '')}")
    return notes


def _hold_timer_note(
    prediction: Mapping[str, Any] | None, events: Sequence[Mapping[str, Any]]
) -> list[str]:
    """When the hold timer decides: it expires one hold time after the peer was last heard."""
    if not prediction or prediction.get("detected_by") != "hold_timer":
        return []
    heard = [
        e
        for e in events
        if e.get("kind") == "last_keepalive" and e.get("subject") == prediction.get("neighbor")
    ]
    if not heard or prediction.get("worst_case_seconds") is None:
        return []
    hold = float(prediction["worst_case_seconds"])
    at = float(heard[-1].get("offset_seconds", 0.0))
    plus = float(heard[-1].get("resolution_seconds", 0.0))
    return [
        f"hold timer: {prediction.get('neighbor')} last heard at {at:+.2f} s, so its {hold:g} s "
        f"hold timer expires at {at + hold:+.2f} s ±{plus:.2f} s"
    ]


_NOUNS = {"dns": ("query", "queries"), "ldaps": ("handshake", "handshakes")}
# A path whose attempts are not pings, in its own words: (title, one attempt, success again).
_ATTEMPT_WORDS = {
    "dns": (ATTEMPT_TITLES["dns"], "query", "answer"),
    "ldaps": (ATTEMPT_TITLES["ldaps"], "handshake", "handshake"),
}


def _attempts_note(
    phase: Mapping[str, Any] | None, episodes: Sequence[Mapping[str, Any]] = ()
) -> list[str]:
    """A DNS or LDAPS path's phase in its own words: first failure, first success again, lost."""
    words = _ATTEMPT_WORDS.get(str(phase.get("kind"))) if phase else None
    if not phase or words is None:
        return []
    title, one, success = words
    interval = float(phase.get("interval_seconds") or 0.0)
    spans = []
    for episode in episodes:
        last, first = (
            episode.get("last_reply_offset_seconds"),
            episode.get("first_reply_offset_seconds"),
        )
        failed = "?" if last is None else f"{float(last) + interval:+.2f} s"
        again = "never (the drill ended inside it)" if first is None else f"{float(first):+.2f} s"
        spans.append(f"first failed {one} {failed}, first {success} again {again}")
    outcomes = phase.get("outcomes") or {}
    return [
        f"{title}: {phase.get('lost', 0)} of {phase.get('sent', 0)} lost in the "
        f"{phase.get('phase', '')}"
        + (f" ({outcomes_text(outcomes)})" if outcomes else "")
        + (f"; {'; '.join(spans)}" if spans else "")
    ]


def _rows(events: Sequence[Mapping[str, Any]]) -> tuple[tuple[str, str, str], ...]:
    return tuple((offset_text(e), str(e.get("plane", "")), event_text(e)) for e in events)


def stories(drill: Mapping[str, Any]) -> list[Story]:
    """One story per explained loss episode; a path that lost nothing gets one for its failover."""
    timeline: Sequence[Mapping[str, Any]] = drill.get("convergence") or ()
    if not timeline:
        return []
    predictions = {str(p.get("path")): p for p in drill.get("predictions") or ()}
    explained: Sequence[Mapping[str, Any]] = drill.get("explained") or ()
    phases = {(str(p.get("path")), str(p.get("phase"))): p for p in drill.get("phases") or ()}
    found = []
    for episode in explained:
        path, phase = str(episode.get("path", "")), str(episode.get("phase", ""))
        notes = _prediction_notes(predictions.get(path)) if phase == "failover" else []
        last, first = (
            episode.get("last_reply_offset_seconds"),
            episode.get("first_reply_offset_seconds"),
        )
        span = (
            f"last reply {'?' if last is None else f'{float(last):+.2f} s'}, first reply again "
            f"{'never (the drill ended inside it)' if first is None else f'{float(first):+.2f} s'}"
        )
        convergence = episode.get("control_plane_convergence_seconds")
        indexes = [i for i in episode.get("event_indexes") or () if 0 <= i < len(timeline)]
        moves = [timeline[i] for i in indexes if timeline[i].get("kind") == "best_path"]
        plus = f" ±{float(moves[-1].get('resolution_seconds', 0.0)):.2f} s" if moves else ""
        notes.append(
            f"data-plane outage {float(episode.get('data_plane_outage_seconds', 0.0)):.2f} s "
            f"({span}, ±{float(episode.get('resolution_seconds', 0.0)):.2f} s); "
            + (
                f"control-plane convergence {float(convergence):.2f} s{plus} (best path changed)"
                if convergence is not None
                else "control-plane convergence: no best-path change seen"
            )
        )
        if phase == "failover":
            notes += _hold_timer_note(predictions.get(path), [timeline[i] for i in indexes])
        notes += _attempts_note(phases.get((path, phase)), [episode])
        comparison = str(episode.get("comparison") or "")
        heading = f"{path} {phase}: " + (
            comparison or f"{episode.get('data_plane_outage_seconds')} s lost"
        )
        finding = ""
        if episode.get("verdict") == "far_above":
            finding = f"FINDING: {comparison}: the timers do not explain this outage; chase it"
        found.append(Story(heading, tuple(notes), _rows([timeline[i] for i in indexes]), finding))
    lossless = [
        p
        for p in drill.get("phases") or ()
        if p.get("phase") == "failover"
        and not p.get("not_measured")
        and not any(
            e.get("path") == p.get("path") and e.get("phase") == "failover" for e in explained
        )
    ]
    restore = next(
        (float(e["offset_seconds"]) for e in timeline if e.get("kind") == "restore"), None
    )
    for phase in lossless:
        path = str(phase.get("path", ""))
        prediction = predictions.get(path)
        lost = int(phase.get("lost") or 0)
        one, many = _NOUNS.get(str(phase.get("kind")), ("probe", "probes"))
        heading = f"{path} failover: no {one} lost (resolution {phase.get('interval_seconds')} s)"
        if lost:  # a killed drill's path without per-probe records: a count, no episodes
            heading = f"{path} failover: {lost} {many} lost so far (no per-probe records)"
        elif prediction and prediction.get("worst_case_seconds") is not None:
            worst = float(prediction["worst_case_seconds"])
            bound = "<= " if prediction.get("detected_by") == "hold_timer" else "~"
            heading += f", predicted {bound}{worst:.1f} s: within"
        events = [
            e
            for e in timeline
            if (restore is None or float(e.get("offset_seconds", 0.0)) <= restore)
            and float(e.get("offset_seconds", 0.0)) >= 0
            and (e.get("plane") != "data" or e.get("source") == path)
        ]
        notes = [*_prediction_notes(prediction), *_attempts_note(phase)]
        found.append(Story(heading, tuple(notes), _rows(events)))
    return found


def text_lines(drill: Mapping[str, Any]) -> list[str]:
    """The stories of one drill as plain-text lines (the table report)."""
    lines = []
    for story in stories(drill):
        lines.append(f"DRILL {drill.get('name', '')}, {story.heading}")
        lines += [f"  {note}" for note in story.notes]
        if story.finding:
            lines.append(f"  {story.finding}")
        width = max((len(offset) for offset, _, _ in story.events), default=0)
        lines += [
            f"    {offset:>{width}}  {plane:<7}  {what}" for offset, plane, what in story.events
        ]
    return lines
