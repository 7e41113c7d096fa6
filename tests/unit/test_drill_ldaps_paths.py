"""A drill's `probes:` naming an `ldaps_paths:` entry: validation, the engine, every report.

The engine test runs the real LdapsProber against a real TLS server on loopback; the trigger
makes the server hold every connection without answering (a silent drop, as a dead tunnel does)
and the restore makes it handshake again. The lab test tests/integration/test_lab_ldaps_drill.py
makes the same outage with slapd across the tunnels.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from drill_results import as_run, inventory_problems, quick_drill
from tls_loopback import LoopbackTlsServer

from holdtime.drill.engine import DrillEngine, PingPlan, ping_plans
from holdtime.drill.journal import Journal
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import Action
from holdtime.inventory import load_inventory
from holdtime.lab.lab_ca import Issued, LabCa
from holdtime.probes.ldaps_path_config import LdapsPathConfig
from holdtime.reports import html_page, json_report, markdown, table

NAME = "dc2.lab.example"


@pytest.fixture(scope="module")
def issued(tmp_path_factory: pytest.TempPathFactory) -> Issued:
    """dc2's certificate from a CA made for the module."""
    ca = LabCa.create(tmp_path_factory.mktemp("ca"))
    return ca.issue_server(tmp_path_factory.mktemp("dc2"), NAME, dns_names=[NAME])


def _inventory(issued: Issued, paths: str, probes: str = "[app-to-db, dc2-ldaps]") -> str:
    return (
        "ping_paths:\n"
        "  - {name: app-to-db, destination: 172.16.1.10, interval_seconds: 0.2}\n"
        "ldaps:\n"
        f"  - {{name: dc2, host: 10.20.0.11, server_name: {NAME}, ca_file: {issued.ca_path},"
        " netns: app}\n"
        f"ldaps_paths:\n{paths}"
        "drills:\n  d:\n"
        f"    probes: {probes}\n"
        "    trigger: {manual: pull the cable}\n"
        "    restore: {manual: plug it back}\n"
    )


BY_CONTROLLER = "  - {name: dc2-ldaps, controller: dc2, interval_seconds: 0.5}\n"


def test_a_path_by_controller_takes_its_address_name_ca_and_netns(
    tmp_path: Path, issued: Issued
) -> None:
    """`controller: dc2`: the plan handshakes to dc2's host on 636, its name, CA file, netns."""
    path = tmp_path / "inv.yaml"
    path.write_text(_inventory(issued, BY_CONTROLLER))
    inventory = load_inventory(path)
    _ping, ldaps = ping_plans(inventory, inventory.drills["d"].probes)
    assert ldaps.ldaps is not None
    assert ("ldaps", "10.20.0.11", 0.5, "app", NAME, 636, issued.ca_path) == (
        ldaps.kind,
        ldaps.destination,
        ldaps.interval_seconds,
        ldaps.netns,
        ldaps.ldaps.server_name,
        ldaps.ldaps.port,
        ldaps.ldaps.ca_file,
    )
    assert ldaps.describe().startswith(
        f"LDAPS handshake to dc2 (10.20.0.11:636) verifying {NAME} against {issued.ca_path}"
    )


def test_a_path_by_address(tmp_path: Path, issued: Issued) -> None:
    """address + ca_file: port 636 unless given, the address is the name verified by default."""
    entry = f"  - {{name: dc2-ldaps, address: 10.20.0.11, ca_file: {issued.ca_path}}}\n"
    path = tmp_path / "inv.yaml"
    path.write_text(_inventory(issued, entry))
    (config,) = load_inventory(path).of(LdapsPathConfig)
    assert ("10.20.0.11", 636, "", 0.5, 1.0) == (
        config.address,
        config.port,
        config.server_name,
        config.interval_seconds,
        config.timeout_seconds,
    )


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (
            "  - {name: dc2-ldaps, controller: dc3}\n",
            "6:35: ldaps_paths[0].controller: no ldaps controller named 'dc3' (did you mean "
            "'dc2'?); the ldaps: section has dc2",
        ),
        (
            "  - {name: dc2-ldaps, address: 10.20.0.11, port: 70000, ca_file: {ca}}\n",
            "6:50: ldaps_paths[0].port: 70000 is out of range 1..65535",
        ),
        (
            "  - {name: dc2-ldaps, address: 10.20.0.11}\n",
            "6:5: ldaps_paths[0].ca_file: missing: an LDAPS path by address needs the CA file its "
            "certificate must chain to",
        ),
        (
            "  - {name: dc2-ldaps, controller: dc2, address: 10.20.0.11}\n",
            "6:5: ldaps_paths[0]: name an `ldaps:` controller (controller: dc1) or give address "
            "and ca_file, not both",
        ),
        (
            "  - {name: dc2-ldaps, controller: dc2, port: 6360}\n",
            "6:46: ldaps_paths[0].port: comes from ldaps controller 'dc2': set it there, or give "
            "an address instead of the controller",
        ),
        (
            "  - {name: app-to-db, controller: dc2}\n",
            "6:12: ldaps_paths[0].name: 'app-to-db' is also a ping_paths name: a drill's probes "
            "could mean either; rename one",
        ),
    ],
    ids=["unknown-controller", "bad-port", "missing-ca", "both", "port-of-controller", "clash"],
)
def test_bad_ldaps_paths_are_one_line(
    tmp_path: Path, issued: Issued, entry: str, problem: str
) -> None:
    """Each mistake is one `file:line:col: where: what to do` line."""
    entry = entry.replace("{ca}", str(issued.ca_path))
    assert [problem] == inventory_problems(tmp_path, _inventory(issued, entry, "[app-to-db]"))


def test_a_missing_ca_file_is_named(tmp_path: Path, issued: Issued) -> None:
    """A CA file that does not exist: one line at its key."""
    entry = "  - {name: dc2-ldaps, address: 10.20.0.11, ca_file: nowhere.pem}\n"
    [problem] = inventory_problems(tmp_path, _inventory(issued, entry, "[app-to-db]"))
    assert problem.startswith("6:53: ldaps_paths[0].ca_file: file 'nowhere.pem' does not exist"), (
        problem
    )


def test_the_dry_run_names_the_ldaps_path(
    tmp_path: Path, issued: Issued, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime drill --dry-run` prints `ldaps dc2-ldaps: LDAPS handshake to dc2 ...`."""
    from holdtime.cli import main

    path = tmp_path / "inv.yaml"
    path.write_text(_inventory(issued, BY_CONTROLLER))
    main(["drill", "-i", str(path), "d", "--dry-run"])
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert any(
        line.startswith("ldaps dc2-ldaps: LDAPS handshake to dc2 (10.20.0.11:636)")
        for line in lines
    ), lines


# -- the engine with a real LdapsProber and TLS server, and what the reports make of it ------
DRILL = quick_drill("dc2-ldaps")


SILENT_SECONDS = 0.5


class Silencing:
    """The trigger silences the server for SILENT_SECONDS (the failover converging before the
    restore, as the hold timer makes it on the lab)."""

    def __init__(self, server: LoopbackTlsServer) -> None:
        self.server = server

    def run(self, action: Action) -> Mapping[str, Any]:
        if action.argv == ("drop",):
            self.server.mode = "silent"
            threading.Timer(SILENT_SECONDS, setattr, (self.server, "mode", "tls")).start()
        return {"exit_status": 0, "output": ""}


@pytest.fixture(scope="module")
def server(issued: Issued) -> Iterator[LoopbackTlsServer]:
    """dc2 on loopback."""
    with LoopbackTlsServer("tls", issued.cert_path, issued.key_path) as serving:
        yield serving


@pytest.fixture(scope="module")
def drilled(
    tmp_path_factory: pytest.TempPathFactory, issued: Issued, server: LoopbackTlsServer
) -> tuple[DrillResult, Path]:
    """One drill over the loopback server, and its journal."""
    config = LdapsPathConfig(
        name="dc2-ldaps",
        address="127.0.0.1",
        port=server.port,
        server_name=NAME,
        ca_file=issued.ca_path,
        interval_seconds=0.05,
        timeout_seconds=0.2,
    )
    plan = PingPlan("dc2-ldaps", "127.0.0.1", 0.05, ldaps=config)
    journal_path = tmp_path_factory.mktemp("ldaps") / "j.jsonl"
    with Journal(journal_path) as journal:
        engine = DrillEngine(
            scenario=DRILL,
            pings=[plan],
            actions=Silencing(server),
            journal=journal,
            out=io.StringIO(),
        )
        return engine.run(), journal_path


def test_ldaps_path_outage_counts_every_handshake(drilled: tuple[DrillResult, Path]) -> None:
    """Failover: the unanswered handshakes are lost as timeouts; every attempt is counted."""
    result, _ = drilled
    failover, failback = (
        next(p for p in result.phases if p.phase == phase) for phase in ("failover", "failback")
    )
    assert ("", "ldaps", "ldaps") == (result.aborted, failover.kind, failback.kind)
    assert (True, failover.sent - failover.lost, failover.lost) == (
        failover.lost > 0,
        failover.outcomes["handshake"],
        failover.outcomes["timeout"],
    )
    assert failover.sent == sum(failover.outcomes.values())
    assert (0, {"handshake": failback.sent}) == (failback.lost, dict(failback.outcomes))


def test_the_journal_keeps_the_outcomes(drilled: tuple[DrillResult, Path]) -> None:
    """The journal's flow record of the path: every attempt sent, counted by outcome."""
    _, journal = drilled
    records = [json.loads(line) for line in journal.read_text().splitlines()]
    [flow] = [r for r in records if r["type"] == "flow"]
    assert flow["sent"] == sum(flow["outcomes"].values())
    assert {"handshake", "timeout"} == set(flow["outcomes"])


def test_every_report_tells_the_ldaps_outage(drilled: tuple[DrillResult, Path]) -> None:
    """Table, Markdown, HTML: handshakes lost with their outcomes, first failure, first success."""
    result, _ = drilled
    failover = next(p for p in result.phases if p.phase == "failover")
    counts = f"handshake {failover.outcomes['handshake']}, timeout {failover.outcomes['timeout']}"
    run = as_run(result)
    text = table.render(run)
    [note] = [
        row.strip() for row in text.splitlines() if row.strip().startswith("LDAPS handshakes")
    ]
    assert note.startswith(
        f"LDAPS handshakes: {failover.lost} of {failover.sent} lost in the failover ({counts}); "
        "first failed handshake +"
    ), note
    assert ", first handshake again +" in note
    assert f"failover: {failover.lost} of {failover.sent} handshakes lost ({counts})" in text
    assert f"| {failover.lost} / {failover.sent} LDAPS handshakes ({counts}) |" in markdown.render(
        run
    )
    assert f"LDAPS handshakes: {failover.lost} of {failover.sent} lost in the failover" in (
        html_page.render(run)
    )
    [drill] = json.loads(json_report.render(run))["extras"]["drills"]
    assert ["ldaps", "ldaps"] == [p["kind"] for p in drill["phases"]]


def test_a_bad_path_a_drill_names_is_reported_once(tmp_path: Path, issued: Issued) -> None:
    """The drill naming a path with an unknown controller gets no second "no such path" line."""
    entry = "  - {name: dc2-ldaps, controller: dc22}\n"
    [problem] = inventory_problems(tmp_path, _inventory(issued, entry))
    assert problem.startswith("6:35: ldaps_paths[0].controller: no ldaps controller named 'dc22'")
