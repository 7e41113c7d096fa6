"""Secrets are replaced by *** at each choke point named in holdtime/redaction.py.

Each test registers a secret the way the inventory does, sends it through one choke point and
asserts on what comes out. The secret has a quote, a backslash, `<` and `&` so that its escaped
spellings (JSON, repr, XML/HTML) are exercised too. The end-to-end proof against a server that
echoes the login request is tests/integration/test_secrets_redaction.py.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from holdtime import redaction
from holdtime.drill.journal import Journal
from holdtime.errors import AuthError, ConfigError, ConnectError
from holdtime.inventory import load_inventory
from holdtime.models import CheckResult, RunResult, Status, error_result
from holdtime.plugins import report_formats
from holdtime.reports import table

SECRET = 'hun"ter\\2<&>'  # a test secret with characters that escape
T0 = dt.datetime(2024, 5, 17, 9, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    """SECRET registered for the test; the registry empty before and after."""
    redaction.forget_all()
    redaction.register(SECRET)
    yield
    redaction.forget_all()


def _spellings() -> list[str]:
    return [
        SECRET,
        json.dumps(SECRET)[1:-1],
        repr(SECRET)[1:-1],
        "hun&quot;ter\\2&lt;&amp;&gt;",
        'hun"ter\\2&lt;&amp;&gt;',
    ]


def _leaks(text: str) -> list[str]:
    return [form for form in _spellings() if form in text]


def test_redact_replaces_every_spelling() -> None:
    """Raw, JSON-escaped, repr'd and XML-escaped forms of a secret all become ***."""
    text = " | ".join(_spellings())
    assert " | ".join(["***"] * 5) == redaction.redact(text)


def test_nothing_registered_leaves_text_alone() -> None:
    """With no secret registered, redact returns its input untouched."""
    redaction.forget_all()
    assert f"a {SECRET} b" == redaction.redact(f"a {SECRET} b")


def test_holdtime_error_message_is_redacted_when_built() -> None:
    """Every HoldtimeError subclass stores its message with the secret replaced."""
    errors = [cls(f"vc1: login failed (password {SECRET})") for cls in (ConfigError, AuthError)]
    assert ["vc1: login failed (password ***)"] * 2 == [str(e) for e in errors]


def test_error_result_from_a_library_exception_is_redacted() -> None:
    """A foreign exception (a pyVmomi fault echoing the request) becomes an ERROR without it."""
    result = error_result("nfs.multipath", "vc1", RuntimeError(f"<password>{SECRET}</password>"))
    assert ([], "<password>***</password>") == (
        _leaks(result.summary + "".join(result.reasons)),
        result.summary,
    )


def test_check_result_fields_are_redacted_recursively() -> None:
    """summary, reasons, target, observed and expected (nested) never keep the secret."""
    result = CheckResult(
        check="system.ip_forwarding",
        target=f"r1/{SECRET}",
        status=Status.ERROR,
        summary=f"device said {SECRET}",
        observed={"lines": [f"x {SECRET}", {"deep": [SECRET]}], SECRET: 1},
        expected={"value": SECRET},
        reasons=(f"why {SECRET}",),
    )
    again = CheckResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert ([], result) == (_leaks(json.dumps(result.to_dict())), again)


def test_every_report_format_is_clean() -> None:
    """table, JSON, JUnit, Markdown and HTML of a run holding the secret never show it."""
    drill = {"name": "d1", "events": [{"detail": f"restore said {SECRET}"}]}
    run = RunResult.collect(
        [error_result("bgp.timers", "r1", ConnectError(f"r1: {SECRET}"))],
        started_at=T0,
        finished_at=T0,
        extras={"note": SECRET, "drills_raw": [drill]},
    )
    renderers = report_formats()
    rendered = {fmt: renderers[fmt](run) for fmt in ("json", "junit", "markdown", "html")}
    rendered["table"] = table.render_table(run, color=False, verbose=True)
    assert {fmt: [] for fmt in rendered} == {fmt: _leaks(text) for fmt, text in rendered.items()}


def test_journal_lines_are_redacted(tmp_path: Path) -> None:
    """Journal.write never puts the secret (JSON-escaped in the line) into the file."""
    path = tmp_path / "drill.jsonl"
    with Journal(path) as journal:
        journal.write("event", detail=f"trigger stderr: {SECRET}", nested={"k": [SECRET]})
    text = path.read_text(encoding="utf-8")
    assert ([], 2) == (_leaks(text), text.count("***"))


def test_log_records_are_redacted_with_their_tracebacks() -> None:
    """A log line (args and exception text) shows *** on any handler, not the secret."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("holdtime.test_redaction")
    logger.addHandler(handler)
    try:
        try:
            raise ValueError(f"server echoed {SECRET}")
        except ValueError:
            logger.error("login to %s with %s failed", "vc1", SECRET, exc_info=True)
    finally:
        logger.removeHandler(handler)
    text = stream.getvalue()
    assert ([], True, True) == (
        _leaks(text),
        "login to vc1 with *** failed" in text,
        "ValueError: server echoed ***" in text,
    )


def test_inventory_registers_password_env_and_literal_passwords(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Loading an inventory registers the router's env password and the vCenter's literal one."""
    redaction.forget_all()
    monkeypatch.setenv("HOLDTIME_T_ROUTER_PW", "router-pw-from-env")
    (tmp_path / "kh").write_text("")
    path = tmp_path / "inv.yaml"
    path.write_text(
        "routers:\n  - {name: r, host: h, username: u, known_hosts: kh,"
        " auth: {password_env: HOLDTIME_T_ROUTER_PW}}\n"
        "vcenters:\n  - {name: vc, host: vc, username: u, allow_literal_password: true,"
        " password: vc-literal-pw}\n"
    )
    load_inventory(path)
    assert "*** and ***" == redaction.redact("router-pw-from-env and vc-literal-pw")
