"""Every dns.* check against 2 controllers x N names (real named), wall time of `run_checks`.

Two named instances (the lab's config, holdtime.lab.dns_server) serve N names with forward and
reverse records in a scratch namespace; the inventory asks both for all N names. Reports the
median and max of the runs and how many results (all must PASS). The issue's target: 2 x 50
names in under 2 s.
Run (root): .venv/bin/python bench/dns_checks.py [--names 50] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from holdtime.inventory import load_inventory
from holdtime.lab import dns_server
from holdtime.models import Status
from holdtime.runner import run_checks

CONTROLLERS = {"dc1": "10.77.53.1", "dc2": "10.77.53.2"}


def _start(
    netns: str, folder: Path, address: str, records: dict[str, str]
) -> subprocess.Popen[bytes]:
    folder.mkdir()
    for name, text in dns_server.zone_files("dc1", records).items():
        (folder / name).write_text(text)
    (folder / "named.conf").write_text(dns_server.named_conf(str(folder), address, records))
    conf = (folder / "named.conf").read_text().replace(" 127.0.0.1; }", " }")
    (folder / "named.conf").write_text(conf)  # two instances: only their own address each
    return subprocess.Popen(
        ["ip", "netns", "exec", netns, *dns_server.named_argv(str(folder))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    records = {f"host{i:03d}": f"10.88.{i // 250}.{i % 250 + 1}" for i in range(args.names)}
    netns = f"htdnsb-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    servers = []
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        with tempfile.TemporaryDirectory() as scratch:
            for name, address in CONTROLLERS.items():
                subprocess.run(
                    ["ip", "-n", netns, "addr", "add", f"{address}/32", "dev", "lo"], check=True
                )
                # the zone's NS records name dc1 and dc2: they need their A records
                zone = {**records, **CONTROLLERS}
                servers.append(_start(netns, Path(scratch, name), address, zone))
            time.sleep(1.5)
            inventory = Path(scratch, "inventory.yaml")
            resolvers = "".join(
                f"      - {{name: {n}, address: {a}}}\n" for n, a in CONTROLLERS.items()
            )
            names = "".join(
                f"      - {{name: {n}.lab.holdtime.test, addresses: [{a}]}}\n"
                for n, a in records.items()
            )
            inventory.write_text(
                f"dns:\n  - name: bench\n    netns: {netns}\n    resolvers:\n{resolvers}"
                f"    names:\n{names}"
            )
            loaded = load_inventory(inventory)
            took, counts = [], set()
            for _ in range(args.runs):
                began = time.perf_counter()
                run = run_checks(loaded, only=("dns.*",))
                took.append(time.perf_counter() - began)
                counts.add((len(run.results), all(r.status is Status.PASS for r in run.results)))
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        subprocess.run(["ip", "netns", "del", netns], check=False)
    print(
        f"2 controllers x {args.names} names, {args.runs} runs: median "
        f"{statistics.median(took):.2f} s, max {max(took):.2f} s; results per run, all pass: "
        f"{sorted(counts)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
