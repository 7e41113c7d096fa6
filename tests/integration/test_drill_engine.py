"""The drill engine for real: ping between namespaces, nftables blackhole as trigger."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from drill_driver import DROP_RULES, run  # tests/integration is on sys.path (pythonpath)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
]


def _sh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, check=True, capture_output=True, text=True)


@pytest.fixture
def pair() -> Iterator[tuple[str, str]]:
    """Two namespaces joined by a veth: a 10.98.0.1/24 <-> b 10.98.0.2/24."""
    tag = uuid.uuid4().hex[:5]
    ns_a, ns_b = f"htdrill-a{tag}", f"htdrill-b{tag}"
    _sh("ip", "netns", "add", ns_a)
    _sh("ip", "netns", "add", ns_b)
    try:
        _sh(
            "ip",
            "-n",
            ns_a,
            "link",
            "add",
            "veth0",
            "type",
            "veth",
            "peer",
            "name",
            "veth1",
            "netns",
            ns_b,
        )
        _sh("ip", "-n", ns_a, "addr", "add", "10.98.0.1/24", "dev", "veth0")
        _sh("ip", "-n", ns_b, "addr", "add", "10.98.0.2/24", "dev", "veth1")
        for ns, dev in ((ns_a, "veth0"), (ns_b, "veth1")):
            _sh("ip", "-n", ns, "link", "set", dev, "up")
            _sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield ns_a, ns_b
    finally:
        subprocess.run(["ip", "netns", "del", ns_a], check=False)
        subprocess.run(["ip", "netns", "del", ns_b], check=False)


def _records(journal: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_blackhole_outage_matches_trigger_to_restore(pair: tuple[str, str], tmp_path: Path) -> None:
    """The failover outage equals the time the drop rule was in place, within 2 intervals."""
    ns_a, ns_b = pair
    result = run(ns_a, ns_b, tmp_path / "j.jsonl", observe_seconds=1.5)
    trigger = next(a for a in result.actions if a["role"] == "trigger")
    restore = next(a for a in result.actions if a["role"] == "restore")
    # the rule is active from the end of the trigger command to the end of the restore command
    truth = (restore["started_at_seconds"] + restore["duration_seconds"]) - (
        trigger["started_at_seconds"] + trigger["duration_seconds"]
    )
    failover = next(p for p in result.phases if p.phase == "failover")
    failback = next(p for p in result.phases if p.phase == "failback")
    assert abs(failover.loss_derived_outage_seconds - truth) <= 2 * 0.02 + 0.03
    assert 0 == failback.lost
    assert (True, "") == (result.passed, result.aborted)


def test_outage_over_budget_fails_the_drill(pair: tuple[str, str], tmp_path: Path) -> None:
    """A 1.5 s outage against a 0.5 s budget is a failed drill, and still restored."""
    ns_a, ns_b = pair
    result = run(ns_a, ns_b, tmp_path / "j.jsonl", observe_seconds=1.5, budget_seconds=0.5)
    assert (False, "") == (result.passed, result.aborted)
    failing = [r for r in result.check_results() if r.status.value == "fail"]
    assert ["drill.outage"] == sorted({r.check for r in failing})
    tables = _sh("ip", "netns", "exec", ns_b, "nft", "list", "tables").stdout
    assert "htdrill" not in tables


def test_journal_records_every_step(pair: tuple[str, str], tmp_path: Path) -> None:
    """The journal holds start, trigger, restore, samples, the flow and the result, in order."""
    ns_a, ns_b = pair
    journal = tmp_path / "j.jsonl"
    run(ns_a, ns_b, journal, observe_seconds=0.5)
    records = _records(journal)
    kinds = [r.get("kind") for r in records if r["type"] == "event"]
    assert "start" == records[0]["type"]
    assert "result" == records[-1]["type"]
    assert kinds.index("trigger") < kinds.index("restore")
    assert {"sample", "flow", "action"} <= {str(r["type"]) for r in records}


def test_sigterm_mid_drill_restores_and_completes_journal(
    pair: tuple[str, str], tmp_path: Path
) -> None:
    """SIGTERM during the observation window: restore runs and the journal ends with a result."""
    ns_a, ns_b = pair
    journal = tmp_path / "j.jsonl"
    driver = Path(__file__).with_name("drill_driver.py")
    proc = subprocess.Popen([sys.executable, str(driver), ns_a, ns_b, str(journal), "30"])
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if journal.exists() and '"kind": "trigger"' in journal.read_text():
                break
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        assert 0 == proc.wait(timeout=30)
    finally:
        proc.kill()
    records = _records(journal)
    result = records[-1]
    assert "result" == result["type"]
    assert "interrupted by SIGTERM" == result["result"]["aborted"]  # type: ignore[index]
    assert any(r.get("role") == "restore" for r in records)
    tables = _sh("ip", "netns", "exec", ns_b, "nft", "list", "tables").stdout
    assert "htdrill" not in tables


def test_cli_drill_and_report_render_the_same_result(
    pair: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`holdtime drill` runs a declared exec scenario; `holdtime report` renders its journal."""
    from holdtime.cli import main

    ns_a, ns_b = pair
    rules = tmp_path / "drop.nft"
    rules.write_text(DROP_RULES)
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        f"""
ping_paths:
  - {{name: a-to-b, source: {{netns: {ns_a}}}, destination: 10.98.0.2, interval_seconds: 0.02}}
drills:
  blackhole:
    probes: [a-to-b]
    trigger: {{exec: [nft, -f, {rules}], netns: {ns_b}}}
    restore: {{exec: [nft, delete, table, inet, htdrill], netns: {ns_b}}}
    budget: {{max_outage_seconds: 5}}
    timing: {{settle_seconds: 0.5, observe_seconds: 1, clean_seconds: 0.5}}
"""
    )
    journal = tmp_path / "drill.jsonl"
    assert 0 == main(
        [
            "drill",
            "-i",
            str(inventory),
            "blackhole",
            "--journal",
            str(journal),
            "--format",
            "json",
            "--textfile",
            str(tmp_path),
        ]
    )
    drilled = json.loads(capsys.readouterr().out)
    assert 0 == main(["report", str(journal), "--format", "json"])
    reported = json.loads(capsys.readouterr().out)
    assert drilled["results"] == reported["results"]
    # a drill that watches no router makes no prediction, and says so (a SKIP, never a guess)
    assert [
        ("drill.outage", "pass"),
        ("drill.outage", "pass"),
        ("drill.prediction", "skip"),
    ] == [(r["check"], r["status"]) for r in drilled["results"]]
    prom = (tmp_path / "holdtime_drill_blackhole.prom").read_text()
    assert 'holdtime_drill_passed{drill="blackhole"} 1.0' in prom
