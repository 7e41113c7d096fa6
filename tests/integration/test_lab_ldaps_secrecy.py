"""The LDAP bind password is in nothing holdtime writes: reports, journal, metrics, logs.

Against the lab's real slapd on dc1 and dc2 (asked from app across the tunnels): `holdtime check`
in every format, with the right password and with a wrong one (both distinctive), a drill whose
steady state binds (its journal, its terminal output, `holdtime report` in every format),
`holdtime serve` (/metrics, /probe and its own log), the pytest plugin with DEBUG logging and
JUnit XML, and a check run with every Python logger at DEBUG and ldap3's own library log at its
most detailed level (holdtime has no `--debug` switch: this is the most it can log).
"""

from __future__ import annotations

import html
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from holdtime.lab import Lab
from holdtime.lab.topology import LDAP_PASSWORD_ENV

pytestmark = [pytest.mark.integration, pytest.mark.lab]

HOLDTIME = str(Path(sys.executable).parent / "holdtime")
WRONG = "Hdq-Wrong-&<pw>-7Rk"  # a wrong password, with characters every format escapes
FORMATS = ("table", "json", "junit", "markdown", "html")
ONLY = ("--only", "ldaps.*", "--only", "tls.*")


def _forms(secret: str) -> set[str]:
    """The spellings a secret could take in a report: raw, XML/HTML-escaped, JSON-escaped."""
    return {
        secret,
        html.escape(secret, quote=False),
        html.escape(secret, quote=True),
        json.dumps(secret)[1:-1],
    }


def _leaks(written: dict[str, str], secrets: list[str]) -> dict[str, list[str]]:
    """Where any spelling of any secret appears (an empty list per output when none does)."""
    forms = set().union(*(_forms(s) for s in secrets))
    return {name: sorted(f for f in forms if f in text) for name, text in written.items()}


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, capture_output=True, text=True, timeout=180, check=False, env=env, cwd=cwd
    )


@pytest.fixture
def password(lab: Lab) -> str:
    """The lab's service account password (the session's, or the one the lab was built with)."""
    secret = lab.ldap_password()
    assert (True, secret) == (len(secret) >= 12, os.environ[LDAP_PASSWORD_ENV])
    return secret


def test_check_in_every_format_never_shows_the_password(
    lab: Lab, password: str, tmp_path: Path
) -> None:
    """Right and wrong password, five formats, -v: the bind is judged, no password is written."""
    written: dict[str, str] = {}
    statuses = {}
    for secret, label in ((password, "right"), (WRONG, "wrong")):
        env = {**os.environ, LDAP_PASSWORD_ENV: secret}
        for fmt in FORMATS:
            report = tmp_path / f"{label}.{fmt}"
            done = _run(
                [
                    *(HOLDTIME, "check", "-i", str(lab.inventory_path), "-v", *ONLY),
                    *("--format", fmt, "-o", str(report)),
                ],
                env,
                tmp_path,
            )
            written[f"{label} {fmt} report"] = report.read_text(encoding="utf-8")
            written[f"{label} {fmt} output"] = done.stdout + done.stderr
        results = json.loads(written[f"{label} json report"])["results"]
        statuses[label] = {r["status"] for r in results if r["check"] == "ldaps.bind"}
    assert {"right": {"pass"}, "wrong": {"fail"}} == statuses
    assert {name: [] for name in written} == _leaks(written, [password, WRONG])


def test_drill_journal_output_and_reports_never_show_the_password(
    lab: Lab, password: str, tmp_path: Path
) -> None:
    """A drill gated on ldaps.* (it binds) with an LDAPS path: journal and reports are clean."""
    inventory = yaml.safe_load(lab.inventory_path.read_text())
    inventory["drills"] = {
        "directory-noop": {
            "description": "steady state binds to both controllers; the trigger does nothing",
            "steady_state": ["ldaps.*"],
            "probes": ["dc1-ldaps"],
            "trigger": {"exec": ["true"]},
            "restore": {"exec": ["true"]},
            "budget": {"max_outage_seconds": 10, "abort_outage_seconds": 30},
            "timing": {"settle_seconds": 1, "observe_seconds": 1, "clean_seconds": 1},
        }
    }
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    written: dict[str, str] = {}
    for secret, label in ((password, "right"), (WRONG, "wrong")):
        journal = tmp_path / f"{label}.jsonl"
        env = {**os.environ, LDAP_PASSWORD_ENV: secret}
        done = _run(
            [
                *(HOLDTIME, "drill", "-i", str(path), "directory-noop", "--journal", str(journal)),
                *("--format", "json", "-o", str(tmp_path / f"{label}.json")),
            ],
            env,
            tmp_path,
        )
        written[f"{label} drill output"] = done.stdout + done.stderr
        written[f"{label} journal"] = journal.read_text(encoding="utf-8")
        written[f"{label} drill json"] = (tmp_path / f"{label}.json").read_text(encoding="utf-8")
        for fmt in FORMATS:
            report = _run([HOLDTIME, "report", str(journal), "--format", fmt], env, tmp_path)
            written[f"{label} report {fmt}"] = report.stdout + report.stderr
    # the right password: the drill ran its LDAPS path; the wrong one: the steady state failed
    # on the bind, and the journal holds that result, the account named
    assert (True, True) == (
        "dc1-ldaps" in written["right journal"],
        "the controller rejected the bind of cn=holdtime-svc" in written["wrong journal"],
    ), written["wrong journal"][-3000:]
    assert {name: [] for name in written} == _leaks(written, [password, WRONG])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return str(answer.read().decode("utf-8"))


def test_serve_metrics_probe_and_log_never_show_the_password(
    lab: Lab, password: str, tmp_path: Path
) -> None:
    """`holdtime serve`: /metrics after a run, /probe of dc1 and its log hold no password."""
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [
                *(HOLDTIME, "serve", "-i", str(lab.inventory_path)),
                *("--listen", f"127.0.0.1:{port}", *ONLY, "--interval", "5"),
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        metrics = ""
        deadline = time.monotonic() + 90
        while "holdtime_ldaps_bind_succeeded{" not in metrics and time.monotonic() < deadline:
            time.sleep(0.5)
            try:
                metrics = _get(f"http://127.0.0.1:{port}/metrics")
            except OSError:
                continue
        probe = _get(f"http://127.0.0.1:{port}/probe?target=dc1&module=ldaps.*")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    written = {"metrics": metrics, "probe": probe, "serve log": log.read_text()}
    assert (True, True) == (
        "holdtime_ldaps_bind_succeeded{" in metrics,
        "holdtime_ldaps_bind_succeeded{" in probe,
    ), metrics[-3000:]
    assert {name: [] for name in written} == _leaks(written, [password])


DEBUG_RUN = """
import logging, sys
from ldap3.utils.log import EXTENDED, set_library_log_detail_level
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
set_library_log_detail_level(EXTENDED)
from holdtime.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_debug_logging_and_pytest_never_show_the_password(
    lab: Lab, password: str, tmp_path: Path
) -> None:
    """Every logger at DEBUG (ldap3's at EXTENDED) and the pytest plugin at DEBUG: no password."""
    env = dict(os.environ)
    debug = _run(
        [sys.executable, "-c", DEBUG_RUN, "check", "-i", str(lab.inventory_path), "-v", *ONLY],
        env,
        tmp_path,
    )
    junit = tmp_path / "junit.xml"
    plugin = _run(
        [
            *(sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-v"),
            *("--log-level=DEBUG", "--log-cli-level=DEBUG", f"--junitxml={junit}"),
            *(f"--holdtime-inventory={lab.inventory_path}", "--holdtime-only=ldaps.*"),
        ],
        env,
        tmp_path,
    )
    written = {
        "debug log": debug.stdout + debug.stderr,
        "pytest output": plugin.stdout + plugin.stderr,
        "junit": junit.read_text(encoding="utf-8"),
    }
    assert (0, 0, True) == (
        debug.returncode,
        plugin.returncode,
        "DEBUG:ldap3:" in debug.stderr,  # ldap3 did log the bind it made
    ), debug.stderr[-3000:]
    assert {name: [] for name in written} == _leaks(written, [password])
