"""Write a small inventory around a `drills:` section: drills are validated when it loads."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from holdtime.drill.scenario import Scenario
from holdtime.inventory import Inventory, load_inventory


def write_inventory(
    folder: Path,
    drills: Mapping[str, Any],
    *,
    paths: Sequence[Mapping[str, Any]] = ({"name": "app-to-db"},),
    routers: Sequence[str] = ("vpc-router-1", "esg1"),
) -> Path:
    """lab.yaml in `folder`: the routers and ping paths named, then `drills`."""
    document = {
        "version": 1,
        "routers": [
            {
                "name": name,
                "host": "10.0.0.1",
                "username": "ops",
                "auth": {"agent": True},
                "host_key_policy": "accept-new",
            }
            for name in routers
        ],
        "ping_paths": [{"destination": "10.0.0.2", **path} for path in paths],
        "drills": dict(drills),
    }
    path = folder / "lab.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def load_drills(folder: Path, drills: Mapping[str, Any], **kwargs: Any) -> Inventory:
    """The inventory of :func:`write_inventory`, loaded (ConfigError lists every problem)."""
    return load_inventory(write_inventory(folder, drills, **kwargs))


def scenarios(folder: Path, drills: Mapping[str, Any], **kwargs: Any) -> dict[str, Scenario]:
    """The validated scenarios of :func:`write_inventory`'s inventory."""
    return dict(load_drills(folder, drills, **kwargs).drills)
