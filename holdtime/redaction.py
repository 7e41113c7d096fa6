"""The secrets holdtime resolved, and ``redact``, which replaces them by ``***``.

Every secret is registered once, where it is resolved: the inventory registers router and
vCenter passwords (from ``password_env`` or a literal ``password``); the vSphere probe registers
a password it reads from the environment at run time. A secret is hidden in the forms it takes
in text: as it is, JSON-escaped, inside a Python repr, and XML/HTML-escaped.

Every message holdtime stores or prints passes through one of these, and nothing else needs to
call ``redact`` (tests/unit/test_redaction.py proves each one):

- ``HoldtimeError.__init__``: every error holdtime raises, so the CLI's ``holdtime: error:``
  line and every ERROR result built from one;
- ``CheckResult.__post_init__``: every result (summary, reasons, observed, expected, target),
  including ERROR results made from a library's exception (a pyVmomi fault whose text echoes
  the login request), so every report format, metric label and pytest message;
- ``RunResult.__post_init__``: its extras (the drill results every report renders);
- ``Journal.write``: every line of a drill journal, and the drill's live progress lines;
- the log record factory, installed with the first secret: every log record of the process
  (holdtime's, paramiko's re-logged ones, pytest's captured logs), message and traceback.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

MASK = "***"

_LOCK = threading.Lock()
_secrets: set[str] = set()
_pattern: list[re.Pattern[str]] = []  # [] when nothing is registered: redact costs nothing
_factory_installed: list[bool] = []


def _forms(secret: str) -> set[str]:
    """The spellings of a secret in text: raw, JSON-escaped (both ways), repr'd, XML-escaped."""
    import html  # here, not at the top: `holdtime --help` imports this module
    import json

    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        repr(secret)[1:-1],
        html.escape(secret, quote=True),
        html.escape(secret, quote=False),
    } - {""}


def register(secret: str | None) -> str | None:
    """Remember a resolved secret (None, "" and non-strings are ignored); returns it unchanged."""
    if not isinstance(secret, str) or not secret:
        return secret
    with _LOCK:
        if not _secrets and not _factory_installed:
            _install_record_factory()
            _factory_installed.append(True)
        if secret not in _secrets:
            _secrets.add(secret)
            forms = sorted({f for s in _secrets for f in _forms(s)}, key=len, reverse=True)
            _pattern[:] = [re.compile("|".join(re.escape(f) for f in forms))]
    return secret


def registered() -> tuple[str, ...]:
    """Every secret registered in this process (to hand on to a child that must redact them)."""
    with _LOCK:
        return tuple(sorted(_secrets))


def forget_all() -> None:
    """Drop every registered secret (tests; a long-running process reloading its inventory)."""
    with _LOCK:
        _secrets.clear()
        _pattern.clear()


def redact(text: str) -> str:
    """`text` with every registered secret replaced by ``***``."""
    if not _pattern or not text:
        return text
    return _pattern[0].sub(MASK, text)


def redact_value(value: Any) -> Any:
    """A copy of a JSON-like value (str, mapping, list, tuple) with secrets redacted in it."""
    if not _pattern:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_value(v) for v in value)
    return value


def _redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Freeze a record's message (and traceback text) with secrets redacted."""
    import logging

    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it when the record is emitted
        return record
    if redact(message) != message:
        record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[1] is not None:
        text = logging.Formatter().formatException(record.exc_info)
        if redact(text) != text:
            record.exc_text, record.exc_info = redact(text), None
    return record


def _install_record_factory() -> None:
    """Redact every log record as it is created (chained to any factory already set)."""
    import logging

    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return _redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
