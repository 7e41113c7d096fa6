"""Every directory check against 2 controllers x N names (real named and slapd), wall time.

Two named instances (the lab's config, holdtime.lab.dns_server) serve N names with forward and
reverse records in a scratch namespace, and two slapds (holdtime.lab.slapd, certificates from a
fresh lab CA) serve LDAPS on 636 and StartTLS on 389 at the same two addresses; the inventory asks
both resolvers for all N names and declares both controllers under `ldaps:` (with a bind) and
`tls:`. Times `run_checks` of dns.*, ldaps.* and tls.* together (`--dns-only`: dns.* alone) and
reports the median and max of the runs and how many results (all must PASS). The issue's
target: all checks against 2 controllers x 50 names in under 2 s.
Run (root): .venv/bin/python bench/dns_checks.py [--names 50] [--runs 5] [--dns-only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from holdtime.inventory import load_inventory
from holdtime.lab import dns_server
from holdtime.lab.lab_ca import LabCa
from holdtime.lab.slapd import Slapd, SlapdTls, start_slapd, stop_slapd
from holdtime.models import Status
from holdtime.runner import run_checks

CONTROLLERS = {"dc1": "10.77.53.1", "dc2": "10.77.53.2"}
PASSWORD_ENV = "HOLDTIME_BENCH_BIND_PASSWORD"


def _directory(netns: str, scratch: Path) -> tuple[list[Slapd], str]:
    """A slapd per controller in `netns` (LDAPS 636, StartTLS 389) and their inventory lines."""
    ca = LabCa.create(scratch / "ca")
    os.environ[PASSWORD_ENV] = "bench-bind-password"
    servers, ldaps, tls = [], ["ldaps:"], ["tls:"]
    for name, address in CONTROLLERS.items():
        host = f"{name}.lab.holdtime.test"
        cert = ca.issue_server(scratch / f"{name}-tls", host, dns_names=[host], ips=[address])
        server = start_slapd(
            scratch / f"{name}-slapd",
            SlapdTls(cert.cert_path, cert.key_path, ca.cert_path),
            os.environ[PASSWORD_ENV],
            netns=netns,
            address=address,
        )
        servers.append(server)
        common = f"host: {address}, server_name: {host}, ca_file: {ca.cert_path}, netns: {netns}"
        ldaps.append(
            f"  - {{name: {name}, {common}, bind_dn: '{server.service_dn}', "
            f"password_env: {PASSWORD_ENV}, starttls_port: 389}}"
        )
        tls.append(f"  - {{name: {name}-ldaps, port: 636, {common}}}")
    return servers, "\n".join(ldaps + tls) + "\n"


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
    parser.add_argument("--dns-only", action="store_true", help="dns.* alone (no slapd)")
    args = parser.parse_args()
    only = ("dns.*",) if args.dns_only else ("dns.*", "ldaps.*", "tls.*")
    records = {f"host{i:03d}": f"10.88.{i // 250}.{i % 250 + 1}" for i in range(args.names)}
    netns = f"htdnsb-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    servers: list[subprocess.Popen[bytes]] = []
    slapds: list[Slapd] = []
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
            directory = ""
            if not args.dns_only:
                slapds, directory = _directory(netns, Path(scratch))
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
                f"    names:\n{names}{directory}"
            )
            loaded = load_inventory(inventory)
            took, counts = [], set()
            for _ in range(args.runs):
                began = time.perf_counter()
                run = run_checks(loaded, only=only)
                took.append(time.perf_counter() - began)
                counts.add((len(run.results), all(r.status is Status.PASS for r in run.results)))
    finally:
        for slapd in slapds:
            stop_slapd(slapd)
        for server in servers:
            server.terminate()
            server.wait(10)
        subprocess.run(["ip", "netns", "del", netns], check=False)
    print(
        f"{', '.join(only)}: 2 controllers x {args.names} names, {args.runs} runs: median "
        f"{statistics.median(took):.2f} s, max {max(took):.2f} s; results per run, all pass: "
        f"{sorted(counts)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
