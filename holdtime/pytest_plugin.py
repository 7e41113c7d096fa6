"""holdtime's pytest plugin (entry point `pytest11: holdtime`).

Registers the `holdtime` option group and the `holdtime_drill` marker, so a suite that uses
them fails loudly (``--strict-markers``) when holdtime is not installed. Collection of
inventory checks as test items (`--holdtime-inventory`) is issue 7; until it lands the option is
not offered, rather than offered and ignored.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the `holdtime` option group."""
    group = parser.getgroup("holdtime", "holdtime network acceptance checks")
    group.addoption(
        "--holdtime-allow-drills",
        action="store_true",
        default=False,
        help="run tests marked @pytest.mark.holdtime_drill (destructive: they fail paths over)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the drill marker."""
    config.addinivalue_line(
        "markers",
        "holdtime_drill(scenario): a destructive failover drill; runs only with "
        "--holdtime-allow-drills",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip drill tests unless --holdtime-allow-drills was given."""
    if config.getoption("--holdtime-allow-drills"):
        return
    skip = pytest.mark.skip(reason="destructive drill: run with --holdtime-allow-drills")
    for item in items:
        if item.get_closest_marker("holdtime_drill") is not None:
            item.add_marker(skip)
