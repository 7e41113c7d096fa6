"""`holdtime check` of the lab inventory as a user runs it (a subprocess), read back as JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from holdtime.lab import Lab

HOLDTIME = str(Path(sys.executable).parent / "holdtime")
Results = dict[tuple[str, str], dict[str, object]]


def check_lab(lab: Lab, only: Sequence[str], key: str = "device") -> tuple[int, Results, str]:
    """Exit code, results by (check, device) and the whole output of `holdtime check --only`.

    `key="target"`: by (check, target) instead, for families with many results per device (a
    `dns:` group is one device).
    """
    selected = [arg for pattern in only for arg in ("--only", pattern)]
    done = subprocess.run(
        [HOLDTIME, "check", "-i", str(lab.inventory_path), "--format", "json", "-q", *selected],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(done.stdout)
    results = {(r["check"], r[key]): r for r in report["results"]}
    return done.returncode, results, done.stdout + done.stderr


def statuses(results: Results, device: str) -> dict[str, str]:
    """check -> status of one device's results."""
    return {check: str(r["status"]) for (check, name), r in results.items() if name == device}
