"""`holdtime drill` (run a declared failover drill) and `holdtime report` (render a journal)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from holdtime.cli.arguments import add_report_options
from holdtime.cli.output import render, tell, to_terminal, write_report

if TYPE_CHECKING:
    from holdtime.drill.result import DrillResult
    from holdtime.models import RunResult


def register(subparsers: Any) -> None:
    """Add `drill` and `report`."""
    drill = subparsers.add_parser(
        "drill",
        help="run a failover drill declared in the inventory and measure every path's outage",
        description=(
            "Run a drill: steady state, ping paths, trigger, observe, restore (always), failback. "
            "Exit 0 within budget, 1 over budget or steady state failed, 2 error, aborted, "
            "interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT: the restore runs first) or restore "
            "failed (the network may still be failed over: the first line says what to run)."
        ),
    )
    drill.add_argument("-i", "--inventory", required=True, type=Path, help="inventory YAML file")
    drill.add_argument("scenario", help="drill name under `drills:` in the inventory")
    drill.add_argument(
        "--dry-run", action="store_true", help="print what would run where; execute nothing"
    )
    drill.add_argument(
        "--journal",
        type=Path,
        help="JSONL journal (default: a new holdtime-drill-SCENARIO-TIME.jsonl); an existing "
        "journal is refused unless --force",
    )
    drill.add_argument(
        "--force", action="store_true", help="overwrite the --journal file if it already exists"
    )
    add_report_options(drill)
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
        description=(
            "Render the result recorded in a drill journal. Exit 0 passed, 1 failed, 2 aborted, "
            "restore failed, or the drill never finished (its restore may never have run)."
        ),
    )
    report.add_argument("journal", type=Path, help="the .jsonl journal of a drill")
    add_report_options(report)
    report.set_defaults(handler=run_report)


def _as_run(result: DrillResult, source: Path) -> RunResult:
    """The drill as a run of check results, which every report format renders."""
    from holdtime.models import RunResult

    return RunResult.collect(
        result.check_results(),
        started_at=result.started_at,
        finished_at=result.finished_at,
        inventory_path=str(source),
        extras={"drills": [result.to_dict()]},
    )


def _emit(run: RunResult, args: argparse.Namespace) -> None:
    text = render(run, args.format, color=to_terminal(args.output), verbose=False)
    write_report(
        text,
        args.output,
        if_stdout_gone="the report could not be printed (stdout is gone): see the journal",
    )


def run_drill(args: argparse.Namespace) -> int:
    """Handler of `holdtime drill`."""
    import datetime as dt

    from holdtime.drill.scenario import scenario as find_scenario
    from holdtime.inventory import load_inventory

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
                f"      {plan.kind} {plan.name}: {plan.describe()}"
                f" -> {plan.destination} every "
                f"{plan.interval_seconds} s"
            )
            if plan.name in router_lines:
                print(f"        on {plan.router.name}: {router_lines[plan.name]}")
        from holdtime.drill.deadman import dry_run_lines  # the dead man's switch
        from holdtime.drill.observers import dry_run_predictions

        switch_lines = dry_run_lines(inventory, scenario)
        for line in switch_lines:
            print(f"  {line}")
        predicted = dry_run_predictions(inventory, scenario, pings)
        for line in predicted:
            print(f"  {line}")
        probed = any(line.startswith("  probed ") for line in switch_lines)
        but = ""
        if scenario.watch:  # the watched routers were read for the prediction
            but = " but the read-only reads above"
        elif probed:
            but = " but the read-only probe above"
        print(f"dry run: nothing was executed{but}")
        return 0
    from holdtime.drill.preflight import preflight
    from holdtime.drill.wiring import run_inventory_drill

    preflight(scenario, textfile_dir=args.textfile, pushgateway=args.pushgateway)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    journal_path = args.journal or Path(f"holdtime-drill-{scenario.name}-{stamp}.jsonl")
    result = run_inventory_drill(inventory, scenario, journal_path, overwrite_journal=args.force)
    tell(f"journal: {journal_path}")
    if result.restore_failed:
        tell(f"holdtime: ERROR: {result.restore_failed}")
    run = _as_run(result, inventory.path)
    try:
        _publish(result, args)
    finally:
        _emit(run, args)
    return result.exit_code


def _publish(result: DrillResult, args: argparse.Namespace) -> None:
    if args.textfile is None and args.pushgateway is None:
        return
    from holdtime.exporters.drill_publish import publish_drill

    if publish_drill(result, textfile_dir=args.textfile, pushgateway=args.pushgateway) is None:
        tell("metrics: nothing published (stopped before the trigger, nothing measured)")


def run_report(args: argparse.Namespace) -> int:
    """Handler of `holdtime report`."""
    from holdtime.drill.journal import journal_result, numbered_records

    numbered = list(numbered_records(args.journal))
    _warn_armed_switches([record for _, record in numbered], args.journal)
    result = journal_result(numbered, args.journal)
    _emit(_as_run(result, args.journal), args)
    return result.exit_code


def _warn_armed_switches(records: list[Any], path: Path) -> None:
    """Say on stderr which dead man's switches a journal left armed on a device."""
    import datetime as dt

    from holdtime.drill.deadman import journal_warnings

    for line in journal_warnings(records, path, dt.datetime.now(dt.UTC)):
        print(f"holdtime: WARNING: {line}", file=sys.stderr)
