"""Report formats (table, JSON, JUnit XML, Markdown, HTML): golden files plus structural checks.

The golden tests render tests/fixtures/reports/sample_run.json (fixed timestamps, all five statuses,
unicode, ``|``, ``<``, ``&``, a newline in a reason, a nested observed dict, one drill with RTT
samples) and compare with tests/fixtures/reports/golden.<ext> exactly. After an intended change
of a format, regenerate and review the diff:

    HOLDTIME_UPDATE_GOLDEN=1 .venv-dev/bin/pytest tests/unit/test_reports.py
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holdtime.models import CheckResult, RunResult, Status
from holdtime.plugins import report_formats
from holdtime.reports import html_page, json_report, junit, markdown, table

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"
T0 = dt.datetime(2024, 5, 17, 9, 30, tzinfo=dt.UTC)
ANSI = re.compile(r"\x1b\[[0-9;]*m")

GOLDEN: dict[str, Callable[[RunResult], str]] = {
    "txt": table.render,
    "json": json_report.render,
    "xml": junit.render,
    "md": markdown.render,
    "html": html_page.render,
}


def _sample() -> RunResult:
    return RunResult.from_dict(json.loads((FIXTURES / "sample_run.json").read_text("utf-8")))


def _run(*results: CheckResult, extras: dict[str, Any] | None = None) -> RunResult:
    return RunResult.collect(
        results,
        started_at=T0,
        finished_at=T0 + dt.timedelta(seconds=3.2),
        extras=extras,
    )


def _result(
    status: Status, check: str = "tcp.port_open", target: str = "a", **kw: Any
) -> CheckResult:
    return CheckResult(check=check, target=target, status=status, summary=f"{status.value}!", **kw)


# --- golden files -----------------------------------------------------------------------------


@pytest.mark.parametrize("ext", sorted(GOLDEN))
def test_format_matches_golden_file(ext: str) -> None:
    """Each format renders the sample run exactly as its reviewed golden file."""
    actual = GOLDEN[ext](_sample())
    golden = FIXTURES / f"golden.{ext}"
    if os.environ.get("HOLDTIME_UPDATE_GOLDEN") == "1":
        golden.write_text(actual, encoding="utf-8", newline="")
    assert golden.read_bytes().decode("utf-8") == actual


def test_sample_covers_every_status_and_the_tricky_characters() -> None:
    """The golden sample holds all five statuses, unicode, | < &, a multi-line reason, a drill."""
    run = _sample()
    text = json.dumps(run.to_dict(), ensure_ascii=False)
    assert dict.fromkeys(Status, True) == {s: run.counts()[s] > 0 for s in Status}
    assert [True] * 5 == [c in text for c in ("|", "<", "&", "ü", "→")]
    assert any("\n" in reason for r in run.results for reason in r.reasons)
    assert any(isinstance(v, dict) for r in run.results for v in r.observed.values())
    assert 1 == len(run.extras["drills"])  # type: ignore[arg-type]


def test_entry_points_name_these_renderers() -> None:
    """The `holdtime.reports` entry points load exactly these five render functions."""
    expected = {
        "table": table.render,
        "json": json_report.render,
        "junit": junit.render,
        "markdown": markdown.render,
        "html": html_page.render,
    }
    assert expected == {k: v for k, v in report_formats().items() if k in expected}


# --- table ------------------------------------------------------------------------------------


def test_table_orders_worst_first_then_check_and_target() -> None:
    """Rows go error, fail, warn, pass, skip; ties by check then target."""
    run = _run(
        _result(Status.PASS, "b.x", "2"),
        _result(Status.SKIP, "a.x"),
        _result(Status.PASS, "b.x", "1"),
        _result(Status.ERROR, "z.x"),
        _result(Status.WARN, "c.x"),
        _result(Status.FAIL, "d.x"),
        _result(Status.PASS, "a.x"),
    )
    lines = table.render_table(run).splitlines()[2:9]
    assert [
        ("ERROR", "z.x", "a"),
        ("FAIL", "d.x", "a"),
        ("WARN", "c.x", "a"),
        ("PASS", "a.x", "a"),
        ("PASS", "b.x", "1"),
        ("PASS", "b.x", "2"),
        ("SKIP", "a.x", "a"),
    ] == [tuple(line.split()[:3]) for line in lines]


def test_table_footer_counts_every_status_and_the_duration() -> None:
    """The last line counts results per status and gives the run time in seconds."""
    run = _run(
        *[_result(Status.PASS, target=str(n)) for n in range(9)],
        _result(Status.WARN),
        _result(Status.FAIL),
        _result(Status.ERROR),
    )
    assert (
        "12 checks: 9 pass, 1 warn, 1 fail, 1 error, 0 skip in 3.2 s"
        == (table.render_table(run).splitlines()[-1])
    )


def test_table_footer_of_one_check_is_singular() -> None:
    """One result reads `1 check`, not `1 checks`."""
    assert table.summary_line(_run(_result(Status.PASS))).startswith("1 check: ")


def test_table_of_an_empty_run_is_just_the_footer() -> None:
    """No results: no empty table, only the footer."""
    assert "0 checks: 0 pass, 0 warn, 0 fail, 0 error, 0 skip in 3.2 s\n" == table.render(_run())


def test_table_has_ansi_colour_only_when_asked() -> None:
    """color=False gives plain text; color=True colours statuses and the text is otherwise equal."""
    run = _sample()
    plain = table.render_table(run, color=False)
    coloured = table.render_table(run, color=True)
    assert None is ANSI.search(plain)
    assert "\x1b[31mFAIL\x1b[0m" in coloured
    assert plain == ANSI.sub("", coloured)


def test_verbose_table_adds_duration_and_each_reason_line() -> None:
    """verbose shows a duration and reasons column, a multi-line reason on several lines."""
    text = table.render_table(_sample(), verbose=True)
    header = text.splitlines()[0].split()
    assert ["status", "check", "target", "summary", "duration", "reasons"] == header
    assert 1 == sum(
        line.rstrip().endswith("last at 2024-05-17T09:12:44Z") for line in text.splitlines()
    )


def test_table_neutralises_terminal_control_characters() -> None:
    """An escape sequence in a target never reaches the terminal."""
    run = _run(_result(Status.PASS, target="evil\x1b]0;owned\x07"))
    assert "\x1b" not in table.render_table(run)
    assert "evil\ufffd]0;owned\ufffd" in table.render_table(run)


# --- JSON -------------------------------------------------------------------------------------


def test_json_round_trip_of_the_sample_is_lossless() -> None:
    """RunResult.from_dict(json.loads(render(run))) gives back the sample exactly."""
    run = _sample()
    text = json_report.render(run)
    assert text.endswith("}\n")
    assert run == RunResult.from_dict(json.loads(text))


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None)
@given(
    observed=st.dictionaries(st.text(), JSON_VALUES, max_size=5),
    target=st.text(),
    reasons=st.lists(st.text(), max_size=3),
)
def test_json_round_trip_with_any_unicode_and_nested_observed(
    observed: dict[str, Any], target: str, reasons: list[str]
) -> None:
    """Arbitrary unicode targets/reasons and nested observed values survive the JSON report."""
    run = _run(
        CheckResult(
            check="x.y",
            target=target,
            status=Status.WARN,
            summary="s",
            observed=observed,
            reasons=tuple(reasons),
        )
    )
    assert run == RunResult.from_dict(json.loads(json_report.render(run)))


# --- JUnit ------------------------------------------------------------------------------------


def test_junit_parses_and_counts_match_the_run() -> None:
    """The XML parses; suite counts equal the run's counts; one testcase per result."""
    run = _sample()
    root = ET.fromstring(junit.render(run).encode())
    suite = root.find("testsuite")
    assert suite is not None
    counts = run.counts()
    expected = {
        "name": "holdtime",
        "tests": str(len(run.results)),
        "failures": str(counts[Status.FAIL]),
        "errors": str(counts[Status.ERROR]),
        "skipped": str(counts[Status.SKIP]),
        "time": "15.240",
        "timestamp": "2024-05-17T09:30:00",
    }
    assert expected == {k: suite.get(k) for k in expected}
    cases = suite.findall("testcase")
    assert [r.test_id for r in run.results] == [c.get("name") for c in cases]
    assert [counts[Status.FAIL], counts[Status.ERROR], counts[Status.SKIP]] == [
        len(suite.findall("testcase/failure")),
        len(suite.findall("testcase/error")),
        len(suite.findall("testcase/skipped")),
    ]


def test_junit_testcase_carries_outcome_properties_and_reasons() -> None:
    """FAIL: failure message=summary, reasons as body; nested observed values as JSON properties."""
    root = ET.fromstring(junit.render(_sample()).encode())
    case = root.find("testsuite/testcase[@name='bgp.peer_established[vpc-router-1/169.254.20.1]']")
    assert case is not None
    assert "holdtime.bgp" == case.get("classname")
    failure = case.find("failure")
    assert failure is not None
    assert "Active (not Established) | last error: Hold Timer Expired" == failure.get("message")
    assert (
        "state is Active, expected Established\nhold timer expired 3 times in the last hour\n"
        "last at 2024-05-17T09:12:44Z"
    ) == failure.text
    properties = {p.get("name"): p.get("value") for p in case.iterfind("properties/property")}
    assert {"flaps": 7, "notifications": {"received": 0, "sent": 2}} == json.loads(
        properties["observed.counters"] or ""
    )
    assert "Active" == properties["observed.state"]
    assert "Established" == properties["expected.state"]


def test_junit_warn_passes_with_a_system_out_note() -> None:
    """WARN has no failure element and says WARN: in system-out."""
    root = ET.fromstring(junit.render(_run(_result(Status.WARN, reasons=("slow",)))).encode())
    case = root.find("testsuite/testcase")
    assert case is not None
    assert [] == [child.tag for child in case if child.tag != "system-out"]
    assert "WARN: warn!\n  slow" == case.findtext("system-out")


def test_junit_strips_characters_illegal_in_xml() -> None:
    """NUL, ESC, lone surrogates and U+FFFE from a device vanish; the document still parses."""
    run = _run(
        _result(
            Status.ERROR,
            target="r1\x00\x1b[0m",
            reasons=("bad\x07 output\ud800\ufffe end",),
            observed={"raw": "a\x0bb"},
        )
    )
    text = junit.render(run)
    case = ET.fromstring(text.encode()).find("testsuite/testcase")
    assert case is not None
    assert "tcp.port_open[r1[0m]" == case.get("name")
    assert "bad output end" == case.findtext("error")
    assert "ab" == case.find("properties/property").get("value")  # type: ignore[union-attr]


# --- Markdown ---------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    """Cells of one GFM table row, splitting only on unescaped pipes."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def test_markdown_tables_keep_their_columns_despite_pipes_and_newlines() -> None:
    """Escaped pipes and <br> for newlines keep every row at its header's width."""
    text = markdown.render(_sample())
    widths = [len(_cells(line)) for line in text.splitlines() if line.startswith("|")]
    assert [5] * 13 == widths[:13]
    row = next(line for line in text.splitlines() if "169.254.20.1 |" in line)
    assert " Active (not Established) \\| last error: Hold Timer Expired " == _cells(row)[3]


def test_markdown_findings_explain_each_non_pass_result() -> None:
    """Findings has a heading per non-pass result, worst first, with reasons and observed values."""
    text = markdown.render(_sample())
    findings = text.split("## Findings", 1)[1].split("## Drills", 1)[0]
    headings = [line.split()[1] for line in findings.splitlines() if line.startswith("### ")]
    assert ["ERROR", "FAIL", "FAIL", "WARN", "SKIP"] == headings
    assert (
        "- hold timer expired 3 times in the last hour\n  last at 2024-05-17T09:12:44Z" in findings
    )
    assert "| state | Active | Established |" in findings


def test_markdown_escapes_html_so_it_cannot_inject_markup() -> None:
    """A <script> target is backslash-escaped, never raw HTML."""
    text = markdown.render(_sample())
    assert "<script>" not in text
    assert "vcenter-1/\\<script\\>alert(1)\\</script\\>" in text


def test_markdown_lists_drill_phases() -> None:
    """Each drill phase is a row: path, phase, lost/sent, both outages, resolution, budget."""
    text = markdown.render(_sample())
    rows = [_cells(line) for line in text.split("### Drill esg1-down: FAILED", 1)[1].splitlines()]
    assert [
        "app-to-vcenter",
        "failover",
        "2 / 14",
        "1.00 s",
        "0.50 s",
        "0.50 s",
        "0.50 s",
        "**OVER**",
    ] == [c.strip() for c in rows[-1]]
    assert ["app-to-db", "failback", "0 / 10", "0.00 s", "", "0.50 s", "3.00 s", "ok"] == [
        c.strip() for c in rows[-2]
    ]


# --- HTML -------------------------------------------------------------------------------------


def test_html_escapes_a_script_target() -> None:
    """A target named <script>alert(1)</script> appears escaped, and only our script tag exists."""
    page = html_page.render(_sample())
    assert "<script>alert(1)</script>" not in page
    assert "vcenter-1/&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 1 == page.count("<script>")


def test_html_is_self_contained() -> None:
    """No external URL: no src/href attributes, no http(s) links except the SVG namespace."""
    page = html_page.render(_sample())
    assert [] == re.findall(r"\b(?:src|href)\s*=", page)
    assert {"http://www.w3.org/2000/svg"} == set(re.findall(r"https?://[^\s\"'<>]+", page))


def test_html_csp_allows_exactly_the_page_script() -> None:
    """The Content-Security-Policy hash is the sha256 of the one inline script."""
    page = html_page.render(_run(_result(Status.PASS)))
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in page


def test_html_counters_and_rows_per_status() -> None:
    """One filter counter per status shows its count; every result is one row tagged by status."""
    run = _sample()
    page = html_page.render(run)
    counters = dict(re.findall(r'data-status="(\w+)" aria-pressed="true"[^>]*><b>(\d+)</b>', page))
    assert {s.value: str(n) for s, n in run.counts().items()} == counters
    assert len(run.results) == len(re.findall(r'<tr data-status="\w+">', page))


def test_html_includes_each_drill_section() -> None:
    """The drill in extras is rendered by html_page.drill_section, verbatim."""
    run = _sample()
    drill = run.extras["drills"][0]  # type: ignore[index]
    assert html_page.drill_section(drill, 0) in html_page.render(run)


def test_html_of_an_empty_run_still_renders() -> None:
    """No results and no drills: a page with zero counters and an empty table."""
    page = html_page.render(_run())
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert 0 == page.count("<tr data-status=")


def test_markdown_summary_starting_like_markup_stays_a_paragraph() -> None:
    """A summary beginning with '# ' or '- ' is escaped, not turned into a heading or list."""
    text = markdown.render(_run(CheckResult("a.b", "t", Status.FAIL, "# not a heading")))
    assert "\n\\# not a heading\n" in text
