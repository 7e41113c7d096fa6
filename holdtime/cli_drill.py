"""`holdtime drill` (run a declared failover drill) and `holdtime report` (render a journal)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from holdtime.cli_check import FORMATS, render
from holdtime.errors import ConfigError, ParseError

if TYPE_CHECKING:
    from holdtime.models import RunResult


def register(subparsers: Any) -> None:
    """Add `drill` and `report`."""
    drill = subparsers.add_parser(
        "drill",
        help="run a failover drill declared in the inventory and measure every path's outage",
        description=(
            "Run a drill: steady state, ping paths, trigger, observe, restore (always), failback. "
            "Exit 0 within budget, 1 over budget or steady state failed, 2 error or aborted."
        ),
    )
    drill.add_argument("-i", "--inventory", required=True, type=Path, help="inventory YAML file")
    drill.add_argument("scenario", help="drill name under `drills:` in the inventory")
    drill.add_argument(
        "--dry-run", action="store_true", help="print what would run where; execute nothing"
    )
    drill.add_argument(
        "--journal", type=Path, help="JSONL journal (default: holdtime-drill-SCENARIO-TIME.jsonl)"
    )
    drill.add_argument("--format", choices=FORMATS, default="table", help="report format")
    drill.add_argument("-o", "--output", type=Path, help="write the report to FILE")
    drill.add_argument(
        "--textfile",
        type=Path,
        metavar="DIR",
        help="write DIR/holdtime_drill_SCENARIO.prom for node_exporter",
    )
    drill.add_argument("--pushgateway", metavar="URL", help="push the drill metrics to URL")
    drill.set_defaults(handler=run_drill)

    report = subparsers.add_parser(
        "report",
        help="render a drill journal (also one left by a crash) as a report",
        description="Render the result recorded in a drill journal.",
    )
    report.add_argument("journal", type=Path, help="the .jsonl journal of a drill")
    report.add_argument("--format", choices=FORMATS, default="table", help="report format")
    report.add_argument("-o", "--output", type=Path, help="write the report to FILE")
    report.set_defaults(handler=run_report)


def _emit(run: RunResult, args: argparse.Namespace) -> None:
    text = render(
        run, args.format, color=args.output is None and sys.stdout.isatty(), verbose=False
    )
    if args.output is not None:
        try:
            args.output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write report to {args.output}: {exc.strerror}") from None
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def run_drill(args: argparse.Namespace) -> int:
    """Handler of `holdtime drill`."""
    from holdtime.drill.scenario import scenario as find_scenario
    from holdtime.inventory import load_inventory
    from holdtime.models import RunResult

    inventory = load_inventory(args.inventory)
    scenario = find_scenario(inventory, args.scenario)
    from holdtime.drill.engine import ping_plans, router_ping_line

    pings = ping_plans(inventory, scenario.probes)
    # Built (and checked against the allowlist) before anything runs, dry or not.
    router_lines = {p.name: router_ping_line(p, scenario) for p in pings if p.router is not None}
    if args.dry_run:
        print(f"drill {scenario.name}: {scenario.description}".rstrip(": "))
        for number, step in enumerate(scenario.plan(), start=1):
            print(f"  {number:2}. {step}")
        for plan in pings:
            print(
                f"      ping {plan.name}: {plan.describe()} -> {plan.destination} every "
                f"{plan.interval_seconds} s"
            )
            if plan.name in router_lines:
                print(f"        on {plan.router.name}: {router_lines[plan.name]}")
        from holdtime.drill.deadman import dry_run_lines  # the dead man's switch

        switch_lines = dry_run_lines(inventory, scenario)
        for line in switch_lines:
            print(f"  {line}")
        probed = any(line.startswith("  probed ") for line in switch_lines)
        print("dry run: nothing was executed" + (" but the read-only probe above" * probed))
        return 0
    from holdtime.drill.wiring import run_inventory_drill

    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    journal_path = args.journal or Path(f"holdtime-drill-{scenario.name}-{stamp}.jsonl")
    result = run_inventory_drill(inventory, scenario, journal_path)
    print(f"journal: {journal_path}", file=sys.stderr)
    run = RunResult.collect(
        result.check_results(),
        started_at=result.started_at,
        finished_at=result.finished_at,
        inventory_path=str(inventory.path),
        extras={"drills": [result.to_dict()]},
    )
    _publish(result, args)
    _emit(run, args)
    if result.aborted:
        return 2
    return 0 if result.passed else 1


def _publish(result: Any, args: argparse.Namespace) -> None:
    if args.textfile is None and args.pushgateway is None:
        return
    from holdtime.exporters.drill_publish import publish_drill

    publish_drill(result, textfile_dir=args.textfile, pushgateway=args.pushgateway)


def run_report(args: argparse.Namespace) -> int:
    """Handler of `holdtime report`."""
    from holdtime.drill.journal import read_journal
    from holdtime.drill.result import DrillResult
    from holdtime.models import RunResult

    records = list(read_journal(args.journal))
    from holdtime.drill.deadman import report_lines  # switches still armed on a device

    for line in report_lines(records, dt.datetime.now(dt.UTC)):
        print(f"holdtime: WARNING: {line}", file=sys.stderr)
    finals = [r for r in records if r["type"] == "result"]
    if finals:
        result = DrillResult.from_dict(finals[-1]["result"])
    else:
        result = _partial(records, args.journal)
    run = RunResult.collect(
        result.check_results(),
        started_at=result.started_at,
        finished_at=result.finished_at,
        inventory_path=str(args.journal),
        extras={"drills": [result.to_dict()]},
    )
    _emit(run, args)
    return 2 if result.aborted else (0 if result.passed else 1)


def _partial(records: list[Any], path: Path) -> Any:
    """A result from a journal whose drill never finished (the process died)."""
    from holdtime.drill.result import DrillResult, TimelineEvent

    starts = [r for r in records if r["type"] == "start"]
    if not starts:
        raise ParseError(f"{path}: no drill start record: not a holdtime drill journal")
    started = dt.datetime.fromisoformat(starts[0]["started_at"])
    events = tuple(
        TimelineEvent(r["at_seconds"], r["kind"], r["detail"], r.get("source", ""))
        for r in records
        if r["type"] == "event"
    )
    last = max([r.get("at_seconds", 0.0) for r in records if "at_seconds" in r] or [0.0])
    return DrillResult(
        name=starts[0]["scenario"],
        started_at=started,
        finished_at=started + dt.timedelta(seconds=float(last)),
        passed=False,
        phases=(),
        events=events,
        actions=tuple(r for r in records if r["type"] == "action"),
        aborted="the drill did not finish (no result record): the journal ends "
        f"{float(last):.1f} s after the start",
    )
