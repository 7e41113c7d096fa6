"""The shipped dashboard and alert rules reference only metrics holdtime exports."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import yaml

from holdtime.exporters.domain_metrics import all_specs
from holdtime.exporters.drill_record import DrillRecord, drill_families

SHIPPED = Path(__file__).resolve().parents[2] / "exporters" / "prometheus"
_METRIC = re.compile(r"\bholdtime_[a-z0-9_]+")


def _exported() -> set[str]:
    names = {
        "holdtime_build_info",
        "holdtime_collector_up",
        "holdtime_collector_duration_seconds",
        "holdtime_check_status",
        "holdtime_check_duration_seconds",
        "holdtime_check_last_run_timestamp_seconds",
        "holdtime_exporter_probing_restarts_total",  # serve's probing process (probing.py)
    }
    names |= {s.metric for s in all_specs()}  # the table and the checks' own metrics
    record = DrillRecord("d", True, dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    names |= {f.name for f in drill_families([record])}
    return names


def dashboard_exprs() -> list[str]:
    """Every PromQL expression in dashboard.json."""
    dashboard = json.loads((SHIPPED / "dashboard.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]


def alert_exprs() -> list[str]:
    """Every alert expression in alerts.yml."""
    rules = yaml.safe_load((SHIPPED / "alerts.yml").read_text())
    return [r["expr"] for g in rules["groups"] for r in g["rules"]]


def test_dashboard_and_alerts_use_only_exported_metrics() -> None:
    """No panel or alert queries a metric name the exporters do not produce."""
    used = {m for expr in dashboard_exprs() + alert_exprs() for m in _METRIC.findall(expr)}
    assert set() == used - _exported()


def test_every_exported_family_is_used_somewhere_or_listed() -> None:
    """Each family the issue asks for is on the dashboard or in an alert (none forgotten)."""
    used = {m for expr in dashboard_exprs() + alert_exprs() for m in _METRIC.findall(expr)}
    not_shown = {
        "holdtime_build_info",  # only feeds the $instance variable
        "holdtime_collector_duration_seconds",
        "holdtime_check_duration_seconds",
        "holdtime_check_last_run_timestamp_seconds",
        "holdtime_bgp_peer_hold_time_seconds",
        "holdtime_bgp_peer_prefixes_sent",
        "holdtime_bgp_peer_info",
        "holdtime_ipsec_ike_sa_established",
        "holdtime_ipsec_ike_sa_established_timestamp_seconds",
    }
    assert set() == _exported() - used - not_shown


def test_dashboard_panels_have_unique_ids_and_do_not_overlap() -> None:
    """Grafana keys panels by id and stacks overlapping grid boxes: every panel has its own."""
    panels = json.loads((SHIPPED / "dashboard.json").read_text())["panels"]
    cells = [
        (p["id"], x, y)
        for p in panels
        for x in range(p["gridPos"]["x"], p["gridPos"]["x"] + p["gridPos"]["w"])
        for y in range(p["gridPos"]["y"], p["gridPos"]["y"] + p["gridPos"]["h"])
    ]
    taken: dict[tuple[int, int], int] = {}
    overlaps = {(taken.setdefault((x, y), pid), pid) for pid, x, y in cells} - {
        (pid, pid) for pid, _, _ in cells
    }
    ids = [p["id"] for p in panels]
    assert (len(ids), set()) == (len(set(ids)), overlaps)
    assert all(p["gridPos"]["x"] + p["gridPos"]["w"] <= 24 for p in panels)
