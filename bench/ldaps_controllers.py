"""How long the lab's slapd takes to start, and `holdtime check --only 'ldaps.*,tls.*'` to run.

Run (root): .venv/bin/python bench/ldaps_controllers.py [CONTROLLERS]   (default 2)
Starts CONTROLLERS slapds on 127.0.0.x loopback addresses (free ports, certificates from a fresh
lab CA, as the lab and the tests do), then times one `holdtime check` of every ldaps check
(handshake, expiry, rootDSE, bind, StartTLS) plus tls.* per controller, in a fresh process.
Prints JSON: each slapd's start time (config + slapadd + ready), the check's wall time, and its
run time as the report states it (started_at to finished_at: without Python start-up).
"""

from __future__ import annotations

import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from holdtime.lab.lab_ca import LabCa
from holdtime.lab.slapd import SlapdTls, free_port, start_slapd, stop_slapd

PASSWORD = "bench-password"


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    exe = Path(sys.executable).with_name("holdtime")
    with tempfile.TemporaryDirectory() as scratch:
        state = Path(scratch)
        ca = LabCa.create(state / "ca")
        servers, starts, lines = [], [], ["ldaps:"]
        try:
            for index in range(count):
                address = f"127.0.0.{40 + index}"
                name = f"dc{index + 1}.lab.example"
                cert = ca.issue_server(state / name, name, dns_names=[name], ips=[address])
                began = time.perf_counter()
                server = start_slapd(
                    state / name / "slapd",
                    SlapdTls(cert.cert_path, cert.key_path, ca.cert_path),
                    PASSWORD,
                    address=address,
                    ldap_port=free_port(address),
                    ldaps_port=free_port(address),
                )
                starts.append(time.perf_counter() - began)
                servers.append(server)
                lines += [
                    f"  - {{name: dc{index + 1}, host: {address}, port: {server.ldaps_port},"
                    f" server_name: {name}, ca_file: {ca.cert_path},"
                    f" bind_dn: '{server.service_dn}', password_env: BENCH_LDAP_PASSWORD,"
                    f" starttls_port: {server.ldap_port}}}"
                ]
            lines.append("tls:")
            for index, server in enumerate(servers):
                lines.append(
                    f"  - {{name: dc{index + 1}-tls, host: {server.address},"
                    f" port: {server.ldaps_port}, server_name: dc{index + 1}.lab.example,"
                    f" ca_file: {ca.cert_path}}}"
                )
            inventory = state / "inventory.yaml"
            inventory.write_text("\n".join(lines) + "\n")
            began = time.perf_counter()
            done = subprocess.run(
                [exe, "check", "-i", str(inventory), "-q", "--format", "json"],
                capture_output=True,
                text=True,
                env={**os.environ, "BENCH_LDAP_PASSWORD": PASSWORD},
                check=False,
            )
            wall = time.perf_counter() - began
            report = json.loads(done.stdout)
            counts = report["counts"]
            run = datetime.datetime.fromisoformat(report["finished_at"]) - (
                datetime.datetime.fromisoformat(report["started_at"])
            )
        finally:
            for server in servers:
                stop_slapd(server)
    print(
        json.dumps(
            {
                "controllers": count,
                "slapd_start_seconds_median": round(statistics.median(starts), 3),
                "slapd_start_seconds_max": round(max(starts), 3),
                "check_wall_seconds": round(wall, 3),
                "check_run_seconds": round(run.total_seconds(), 3),  # without process start-up
                "counts": counts,
            }
        )
    )
    return 0 if done.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
