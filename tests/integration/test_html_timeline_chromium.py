"""The HTML report's drill lanes in a real browser: Debian's chromium, headless.

Each recorded lab journal (tests/fixtures/drill-journals) is rendered by `holdtime report
--format html`, then opened by /usr/bin/chromium three times with a fresh profile: `--dump-dom`
(the DOM after parsing and layout: the lanes' SVG and the events table are there, one row and
one label per event), the same run's `--enable-logging=stderr --v=0` (chromium writes every
console message, uncaught exception and Content-Security-Policy violation of the page as an
``INFO:CONSOLE`` line: the report logs nothing, so any such line fails), and `--screenshot`
(a non-empty PNG). The console check is proved able to fail first: a page with a console error
and a blocked fetch must produce those lines in the same chromium.

Why stderr and not the DevTools protocol: it needs no websocket client and no port, and in
chromium 156 it reports console.log/console.error, uncaught exceptions and CSP violations alike
(checked here: a page with each printed one CONSOLE line per message). It carries no level, so
the test allows no console line at all, which is stricter than "no error".
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
JOURNALS = Path(__file__).resolve().parents[1] / "fixtures" / "drill-journals"
CASES = ("silent-3-9", "silent-bfd")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
CONSOLE = re.compile(r"^\[[^\]]*:CONSOLE[^\]]*\] .*$", re.MULTILINE)

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium; the Makefile's "
    "APT_PACKAGES has it)",
)

HOLDTIME = str(Path(sys.executable).with_name("holdtime"))  # the installed console script:
# `python -m holdtime` from the checkout would import its source folder, not the install


def _chromium(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """One headless chromium run on `page` with a fresh profile (no network is needed)."""
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _report(case: str, out: Path) -> Path:
    """`holdtime report JOURNAL --format html -o FILE`, as a user renders a journal."""
    page = out / f"{case}.html"
    subprocess.run(
        [
            HOLDTIME,
            "report",
            str(JOURNALS / case / "journal.jsonl"),
            "--format",
            "html",
            "-o",
            str(page),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return page


def _convergence(case: str) -> Sequence[dict[str, object]]:
    for line in (JOURNALS / case / "journal.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("type") == "result":
            return list(record["result"]["convergence"])
    raise AssertionError(f"{case}: no result record")


@needs_chromium
def test_console_check_can_fail(tmp_path: Path) -> None:
    """A page with a console error and a fetch the CSP blocks shows both as CONSOLE lines."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
        "content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>"
        '<img src="http://192.0.2.1/x.png"><script>console.error("boom")</script></body></html>',
        encoding="utf-8",
    )
    run = _chromium(page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    lines = CONSOLE.findall(run.stderr)
    assert any('"boom"' in line for line in lines), run.stderr[-2000:]
    assert any("Content Security Policy" in line for line in lines), run.stderr[-2000:]


@needs_chromium
@pytest.mark.parametrize("case", CASES)
def test_report_renders_without_console_messages(case: str, tmp_path: Path) -> None:
    """The DOM has the lanes and one table row per event; chromium logs nothing from the page."""
    page = _report(case, tmp_path)
    run = _chromium(page, tmp_path / "profile", "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert 0 == run.returncode, run.stderr[-2000:]
    assert [] == CONSOLE.findall(run.stderr)
    dom = run.stdout
    events = _convergence(case)
    assert 1 == dom.count('<svg class="lanes"')
    assert len(events) == dom.count('<tr class="event-row">')
    markers = re.findall(r'<g class="event" data-number="(\d+)">', dom)
    actions = dom.count('<g class="action ')
    assert len(events) == len(markers) + actions
    assert 2 == actions  # the trigger and the restore, each a labelled line
    for lane in ("RTT app-to-db", "BGP 10.10.10.2", "best path 172.16.1.0/24", "IPsec SA esg1"):
        assert f">{lane}</text>" in dom
    assert re.search(r"\(\d+\) trigger \+0\.00 s</text>", dom)


@needs_chromium
@pytest.mark.parametrize("case", CASES)
def test_report_screenshot_is_a_png(case: str, tmp_path: Path) -> None:
    """`--screenshot` of the report writes a non-empty PNG of the requested size."""
    page = _report(case, tmp_path)
    shot = tmp_path / f"{case}.png"
    run = _chromium(page, tmp_path / "profile", "--window-size=1100,1600", f"--screenshot={shot}")
    assert 0 == run.returncode, run.stderr[-2000:]
    data = shot.read_bytes()
    assert b"\x89PNG\r\n\x1a\n" == data[:8]
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (1100, 1600) == (width, height)
    assert len(data) > 20_000  # a blank page of that size is 8.5 kB here
