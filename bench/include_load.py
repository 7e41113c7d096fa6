"""What an `include: {ansible: ...}` costs when an inventory loads, first and then cached.

The first load runs the real `ansible-inventory --list --export` (ansible-core must be installed);
later loads in the same process reuse its output while the files are unchanged.

Run: .venv/bin/python bench/include_load.py [RUNS]
Prints the median in-process load_inventory() time of an inventory including a static INI
inventory of 200 routers (in 4 groups with group_vars/), with the cache emptied before each
run (ansible-inventory runs) and with it kept (it does not), and the same routers written
by `holdtime inventory import ansible` (a plain `routers:` list) for comparison.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from holdtime import inventory_include
from holdtime.ansible_import import import_ansible, run_ansible_inventory
from holdtime.inventory import load_inventory

ROUTERS = 200
GROUPS = 4


def write_site(folder: Path) -> Path:
    """An Ansible INI inventory of ROUTERS hosts and the holdtime inventory including it."""
    lines: list[str] = []
    for group in range(GROUPS):
        lines.append(f"[edges{group}]")
        for index in range(group, ROUTERS, GROUPS):
            lines.append(f"r{index} ansible_host=10.{index // 250}.{index % 250}.1")
        lines.append("")
    lines += ["[routers:children]", *(f"edges{g}" for g in range(GROUPS)), ""]
    lines += ["[routers:vars]", "ansible_user=holdtime", ""]
    (folder / "hosts.ini").write_text("\n".join(lines))
    (folder / "group_vars").mkdir()
    for group in range(GROUPS):
        (folder / "group_vars" / f"edges{group}.yml").write_text("holdtime_platform: frr\n")
    (folder / "known_hosts").write_text("")
    inventory = folder / "holdtime.yaml"
    inventory.write_text(
        "version: 1\n"
        "include:\n"
        "  ansible: hosts.ini\n"
        "  groups: routers\n"
        "  platform_var: holdtime_platform\n"
        "  known_hosts: known_hosts\n"
    )
    return inventory


def median_seconds(path: Path, runs: int, *, cached: bool) -> float:
    times = []
    load_inventory(path)
    for _ in range(runs):
        if not cached:
            inventory_include._CACHE.clear()
        began = time.perf_counter()
        load_inventory(path)
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    with tempfile.TemporaryDirectory() as folder:
        path = write_site(Path(folder))
        os.environ.setdefault("HOME", folder)
        cold = median_seconds(path, runs, cached=False)
        warm = median_seconds(path, runs, cached=True)
        imported = write_imported(Path(folder))
        copy = median_seconds(imported, runs, cached=True)
    print(f"include of {ROUTERS} routers, median of {runs}:")
    print(f"  ansible-inventory run: {cold:.3f} s")
    print(f"  cached:                {warm:.3f} s")
    print(f"  the same routers imported into routers: {copy:.3f} s")


def write_imported(folder: Path) -> Path:
    """The same routers as `holdtime inventory import ansible` writes them."""
    data = run_ansible_inventory(folder / "hosts.ini")
    text = import_ansible(
        data, source="hosts.ini", groups=["routers"], platform_var="holdtime_platform"
    ).text
    path = folder / "imported.yaml"
    path.write_text(text.replace("~/.ssh/known_hosts", str(folder / "known_hosts")))
    return path


if __name__ == "__main__":
    main()
