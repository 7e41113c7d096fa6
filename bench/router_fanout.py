"""Router fan-out: one router vs N routers at once vs N one after another, over real SSH.

The lab's vpc-router-1 (FRR + two strongSwan tunnels, real sshd) is listed N times in an
inventory (r001..rN, same address, same host key), and every router check runs on all of them:
12 SSH commands and a 4 s IPsec traffic sample per router. The lab router's sshd shares the
machine's cores with holdtime, so the bench prints the CPU both sides spend per router.
Sequential time is measured on `--sequential` routers with one worker and scaled to N (it is
linear: one router at a time).
Run (root): .venv/bin/python bench/router_fanout.py [N] [--sequential K] [--checks all|transport]
            [--prefix P]   (defaults 100, 5, all, htbf-)
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml

from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.runner import run_checks

ROUTER_CHECKS = ("bgp.*", "ipsec.*", "system.*")
CHECK_SETS = {"all": ROUTER_CHECKS, "transport": ("system.ip_forwarding",)}


def _inventory(lab: Lab, count: int, folder: Path) -> Path:
    data = yaml.safe_load(lab.inventory_path.read_text())
    router = next(r for r in data["routers"] if r["name"] == "vpc-router-1")
    routers = []
    for index in range(1, count + 1):
        entry = copy.deepcopy(router)
        entry["name"] = f"r{index:03d}"
        routers.append(entry)
    path = folder / f"inventory-{count}.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "routers": routers}))
    return path


def _sshd_cpu_seconds(lab: Lab) -> float:
    """CPU used so far by the lab router's sshd and its reaped session children."""
    state = json.loads((lab.root / "state.json").read_text())
    fields = Path(f"/proc/{state['pids']['router-sshd']}/stat").read_text().rsplit(")", 1)[1]
    utime, stime, cutime, cstime = (int(v) for v in fields.split()[11:15])
    return (utime + stime + cutime + cstime) / os.sysconf("SC_CLK_TCK")


def _timed(lab: Lab, path: Path, workers: int, only: tuple[str, ...]) -> tuple[float, int, int]:
    """Seconds for one run, results, and results that are not pass/skip."""
    inventory = load_inventory(path)
    sshd_before, cpu_before = _sshd_cpu_seconds(lab), time.process_time()
    began = time.perf_counter()
    run = run_checks(inventory, only=only, max_workers=workers)
    elapsed = time.perf_counter() - began
    routers = len(inventory.routers)
    print(
        f"  holdtime CPU {(time.process_time() - cpu_before) / routers * 1000:.0f} ms/router, "
        f"lab sshd CPU {(_sshd_cpu_seconds(lab) - sshd_before) / routers * 1000:.0f} ms/router"
    )
    bad = [r for r in run.results if r.status.value not in {"pass", "skip"}]
    for summary in sorted({r.summary for r in bad})[:3]:
        print(f"  e.g. {summary}")
    return elapsed, len(run.results), len(bad)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("count", nargs="?", type=int, default=100)
    parser.add_argument("--sequential", type=int, default=5)
    parser.add_argument("--prefix", default="htbf-")
    parser.add_argument(
        "--checks",
        choices=sorted(CHECK_SETS),
        default="all",
        help="all: every router check (12 commands + 2 s sample per router); "
        "transport: system.ip_forwarding only (SSH connect + one command)",
    )
    args = parser.parse_args()
    only = CHECK_SETS[args.checks]
    lab = Lab(prefix=args.prefix)
    lab.down()
    lab.up(timeout_seconds=90)
    try:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch)
            one, results_one, bad_one = _timed(lab, _inventory(lab, 1, folder), 1, only)
            print(f"1 router: {one:.2f} s ({results_one} results, {bad_one} not pass/skip)")
            many, results_many, bad_many = _timed(
                lab, _inventory(lab, args.count, folder), args.count, only
            )
            print(
                f"{args.count} routers at once: {many:.2f} s ({results_many} results, "
                f"{bad_many} not pass/skip)"
            )
            seq, _, _ = _timed(lab, _inventory(lab, args.sequential, folder), 1, only)
            sequential = seq / args.sequential * args.count
            print(
                f"{args.sequential} routers one after another: {seq:.2f} s "
                f"-> {args.count} would take {sequential:.0f} s"
            )
            print(
                f"| {args.checks} | {args.count} routers vs 1 | {many / one:.2f}x the time of one "
                f"(target <= 2x) | {sequential / many:.0f}x faster than sequential "
                f"(target >= 20x) |"
            )
    finally:
        lab.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
