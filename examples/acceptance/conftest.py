"""Point the holdtime plugin at the inventory: --holdtime-inventory FILE or $HOLDTIME_INVENTORY."""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Fill --holdtime-inventory from HOLDTIME_INVENTORY before the plugin loads it."""
    # tryfirst: this runs before holdtime's own pytest_configure, which reads the option.
    if not config.getoption("--holdtime-inventory"):
        path = os.environ.get("HOLDTIME_INVENTORY", "")
        if not path:
            raise pytest.UsageError(
                "acceptance suite: pass --holdtime-inventory FILE or set HOLDTIME_INVENTORY"
            )
        config.option.holdtime_inventory = path
