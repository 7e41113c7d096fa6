"""Rendering a run in a report format and writing it to `-o FILE` or stdout."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from holdtime.errors import ConfigError

if TYPE_CHECKING:
    from holdtime.models import RunResult


def render(run: RunResult, fmt: str, *, color: bool, verbose: bool) -> str:
    """Render a run in one of the registered report formats (`table` with colour and detail)."""
    if fmt == "table":
        from holdtime.reports.table import render_table

        return render_table(run, color=color, verbose=verbose)
    from holdtime.plugins import report_formats

    renderers = report_formats()
    if fmt not in renderers:
        raise ConfigError(f"unknown report format {fmt!r}; known: {', '.join(sorted(renderers))}")
    return renderers[fmt](run)


def to_terminal(output: Path | None) -> bool:
    """True when the report goes to a terminal (not -o FILE): the table is then coloured."""
    return output is None and sys.stdout.isatty()


def tell(line: str) -> None:
    """One line on stderr; after a SIGHUP the terminal may be gone, and that is no error."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr, flush=True)


def write_report(
    text: str, output: Path | None, *, quiet: bool = False, if_stdout_gone: str | None = None
) -> None:
    """Write `text` to `output` (saying so on stderr unless quiet) or, without one, to stdout.

    A file that cannot be written is a one-line ConfigError. A failed write to stdout propagates
    (cli.main says so, exit 2 or 141) unless `if_stdout_gone` is given: that line is then told
    on stderr instead (a drill's result is safe in its journal).
    """
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot write report to {output}: {exc.strerror}") from None
        if not quiet:
            tell(f"report written to {output}")
        return
    line = text if text.endswith("\n") else text + "\n"
    if if_stdout_gone is None:
        sys.stdout.write(line)
        return
    try:
        sys.stdout.write(line)
        sys.stdout.flush()
    except (OSError, ValueError):
        tell(if_stdout_gone)
