"""Argument types and options shared by the subcommands.

An argparse ``type=`` raises ``argparse.ArgumentTypeError``; argparse turns it into its one-line
``holdtime COMMAND: error: argument --x: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

MAX_SECONDS = 86400.0  # intervals and timeouts: a day (timers cannot wait for 1e308 s)
DEFAULT_REPORT_FORMAT = "table"


def positive_int(text: str) -> int:
    """A whole number of at least 1 (workers, connections)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def positive_float(text: str) -> float:
    """A number of seconds above 0 (deadlines)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be more than 0")
    return value


def bounded_seconds(text: str) -> float:
    """A number of seconds above 0 and at most MAX_SECONDS (intervals, timeouts)."""
    value = positive_float(text)
    if value > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text} is more than {MAX_SECONDS:g} s (a day)")
    return value


def fraction(text: str) -> float:
    """A number from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return value


class ReportFormats:
    """The `--format` choices: every ``holdtime.reports`` entry point, read on first use.

    Reading entry points imports importlib.metadata and every renderer (about 100 ms), so it
    happens only when a --format value is checked or `COMMAND --help` lists the formats, never
    while the parser is built: `holdtime --help` stays fast. argparse itself checks the value
    (``in``) and words the error (iterating), exactly as for a tuple of choices.
    """

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    @staticmethod
    def _names() -> list[str]:
        from holdtime.plugins import report_formats

        return sorted(report_formats())


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """`--format` (any registered report format) and `-o/--output FILE`."""
    parser.add_argument(
        "--format",
        choices=ReportFormats(),
        default=DEFAULT_REPORT_FORMAT,
        metavar="FORMAT",  # a metavar, so building the parser does not read the choices
        help="report format: %(choices)s (default %(default)s)",
    )
    parser.add_argument("-o", "--output", type=Path, help="write the report to FILE")
