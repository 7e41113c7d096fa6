"""A drill's `probes:` naming a `dns_paths:` entry: validation, the engine, every report format.

The engine test runs the real DnsProber; only its exchange is replaced: answers are real DNS
messages made by dnspython for the query sent, and between the trigger and the restore every
query times out (a silent drop, which no healthy local resolver produces on demand; the lab test
tests/integration/test_lab_dns_drill.py makes the same outage with named across the tunnels).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from drill_results import as_run, inventory_problems, quick_drill

from holdtime.drill.engine import DrillEngine, PingPlan, ping_plans
from holdtime.drill.journal import Journal
from holdtime.drill.result import DrillResult
from holdtime.drill.scenario import Action
from holdtime.inventory import load_inventory
from holdtime.probes.dns import SocketSupply
from holdtime.probes.dns_config import Resolver
from holdtime.probes.dns_path_config import DnsPathConfig
from holdtime.reports import html_page, json_report, junit, markdown, table

PATHS = """\
ping_paths:
  - {name: app-to-db, destination: 172.16.1.10, interval_seconds: 0.2}
dns_paths:
  - name: dc1-db
    resolver: {name: dc1, address: 172.16.1.11}
    query: db.lab.holdtime.test
"""


def _drill(probes: str) -> str:
    return (
        "drills:\n  d:\n"
        f"    probes: {probes}\n"
        "    trigger: {manual: pull the cable}\n"
        "    restore: {manual: plug it back}\n"
    )


def test_a_drill_names_a_dns_path_and_gets_its_plan(tmp_path: Path) -> None:
    """`probes: [app-to-db, dc1-db]` loads; the DNS plan routes to the resolver's address."""
    path = tmp_path / "inv.yaml"
    path.write_text(PATHS + _drill("[app-to-db, dc1-db]"))
    inventory = load_inventory(path)
    ping, dns = ping_plans(inventory, inventory.drills["d"].probes)
    assert ("app-to-db", "ping", "dc1-db", "dns", "172.16.1.11", 0.2) == (
        ping.name,
        ping.kind,
        dns.name,
        dns.kind,
        dns.destination,
        dns.interval_seconds,
    )
    assert dns.describe().startswith("DNS A db.lab.holdtime.test over udp to dc1 (172.16.1.11")


def test_an_unknown_path_lists_the_ping_and_dns_paths(tmp_path: Path) -> None:
    """A typo names both kinds of path that exist, with a suggestion."""
    assert [
        "9:25: drills.d.probes: no ping path named 'dc1-dbb' in the inventory, nor a dns or ldaps "
        "path (did you mean 'dc1-db'?); paths: app-to-db (ping), dc1-db (dns)"
    ] == inventory_problems(tmp_path, PATHS + _drill("[app-to-db, dc1-dbb]"))


def test_a_name_in_ping_paths_and_dns_paths_is_an_error(tmp_path: Path) -> None:
    """The same name in both sections: one line at the dns_paths entry's name."""
    both = PATHS.replace("name: dc1-db", "name: app-to-db")
    assert [
        "4:11: dns_paths[0].name: 'app-to-db' is also a ping_paths name: a drill's probes could "
        "mean either; rename one"
    ] == inventory_problems(tmp_path, both + _drill("[app-to-db]"))


def test_inventory_loading_does_not_import_dnspython(tmp_path: Path) -> None:
    """dns_paths is registered at load time, but dnspython loads only when a prober runs."""
    import subprocess
    import sys

    path = tmp_path / "inv.yaml"
    path.write_text(PATHS + _drill("[dc1-db]"))
    code = (
        "import sys; from holdtime.inventory import load_inventory; "
        f"load_inventory({str(path)!r}); print('dns' in sys.modules)"
    )
    done = subprocess.run(  # cwd: not the checkout, whose holdtime/ folder would shadow the install
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "False" == done.stdout.strip()


# -- the engine with a real DnsProber, and what every report makes of its result ---------------
DROP_SECONDS = 0.5
DRILL = quick_drill("dc1-db")


class Dropping:
    """The trigger drops every query for DROP_SECONDS (the failover converging before the
    restore, as the hold timer makes it on the lab)."""

    def __init__(self) -> None:
        self.until = 0.0

    def run(self, action: Action) -> Mapping[str, Any]:
        if action.argv == ("drop",):
            self.until = time.monotonic() + DROP_SECONDS
        return {"exit_status": 0, "output": ""}

    def exchange(
        self,
        resolver: Resolver,
        wire: bytes,
        transport: str,
        timeout_seconds: float,
        sockets: SocketSupply,
    ) -> bytes:
        import dns.message
        import dns.rrset

        if time.monotonic() < self.until:
            raise TimeoutError("timed out")
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", "172.16.1.10"))
        return bytes(response.to_wire())


class DroppingEngine(DrillEngine):
    """The engine as wired, its DnsProber's exchange going to `Dropping`."""

    dropper: Dropping

    def _prober(self, plan: PingPlan) -> Any:
        prober = super()._prober(plan)
        prober.send = self.dropper.exchange
        return prober


@pytest.fixture(scope="module")
def drilled(tmp_path_factory: pytest.TempPathFactory) -> DrillResult:
    config = DnsPathConfig(
        name="dc1-db",
        resolver=Resolver("dc1", "172.16.1.11"),
        query="db.lab.holdtime.test",
        interval_seconds=0.05,
        timeout_seconds=0.2,
    )
    plan = PingPlan("dc1-db", "172.16.1.11", 0.05, dns=config)
    dropper = Dropping()
    journal_path = tmp_path_factory.mktemp("dns") / "j.jsonl"
    with Journal(journal_path) as journal:
        engine = DroppingEngine(
            scenario=DRILL, pings=[plan], actions=dropper, journal=journal, out=io.StringIO()
        )
        engine.dropper = dropper
        return engine.run()


def test_dns_path_outage_counts_every_query(drilled: DrillResult) -> None:
    """Failover: the dropped queries are lost, one episode, every attempt's outcome counted."""
    failover, failback = (
        next(p for p in drilled.phases if p.phase == phase) for phase in ("failover", "failback")
    )
    assert ("", "dns", "dns", 1) == (
        drilled.aborted,
        failover.kind,
        failback.kind,
        len(failover.episodes),
    )
    assert (True, failover.sent - failover.lost, failover.lost) == (
        failover.lost > 0,
        failover.outcomes["answer"],
        failover.outcomes["timeout"],
    )
    assert (0, {"answer": failback.sent}) == (failback.lost, dict(failback.outcomes))


def test_json_round_trip_keeps_kind_and_outcomes(drilled: DrillResult) -> None:
    """DrillResult.to_dict/from_dict and the JSON report carry a DNS path's kind and outcomes."""
    again = DrillResult.from_dict(json.loads(json.dumps(drilled.to_dict())))
    assert [(p.kind, dict(p.outcomes)) for p in drilled.phases] == [
        (p.kind, dict(p.outcomes)) for p in again.phases
    ]
    [drill] = json.loads(json_report.render(as_run(drilled)))["extras"]["drills"]
    assert ["dns", "dns"] == [p["kind"] for p in drill["phases"]]


def test_every_report_tells_the_dns_outage(drilled: DrillResult) -> None:
    """Table, Markdown and JUnit: queries lost with their outcomes, first failure, first answer."""
    failover = next(p for p in drilled.phases if p.phase == "failover")
    counts = f"answer {failover.outcomes['answer']}, timeout {failover.outcomes['timeout']}"
    run = as_run(drilled)
    text = table.render(run)
    [note] = [line.strip() for line in text.splitlines() if line.strip().startswith("DNS queries")]
    assert note.startswith(
        f"DNS queries: {failover.lost} of {failover.sent} lost in the failover ({counts}); "
        "first failed query +"
    ), note
    assert ", first answer again +" in note
    summary = f"failover: {failover.lost} of {failover.sent} queries lost ({counts})"
    assert summary in text
    page = markdown.render(run)
    assert f"| {failover.lost} / {failover.sent} DNS queries ({counts}) |" in page
    import xml.etree.ElementTree as ET

    cases = ET.fromstring(junit.render(run)).iter("testcase")
    [outcomes] = [
        json.loads(str(prop.get("value")))
        for case in cases
        if "d/dc1-db/failover" in str(case.get("name", ""))
        for prop in case.iter("property")
        if prop.get("name") == "observed.outcomes"
    ]
    assert dict(failover.outcomes) == outcomes
    assert summary in html_page.render(run)  # the HTML page lists the drill.outage results too


def test_the_dry_run_names_each_path_by_its_kind(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime drill --dry-run` prints `ping app-to-db: ...` and `dns dc1-db: ...`."""
    from holdtime.cli import main

    path = tmp_path / "inv.yaml"
    path.write_text(PATHS + _drill("[app-to-db, dc1-db]"))
    main(["drill", "-i", str(path), "d", "--dry-run"])
    lines = [line.strip() for line in capsys.readouterr().out.splitlines()]
    assert any(line.startswith("ping app-to-db: ") for line in lines), lines
    assert any(line.startswith("dns dc1-db: DNS A db.lab.holdtime.test") for line in lines), lines
