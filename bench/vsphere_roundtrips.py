"""Benchmark: the vSphere probe (one PropertyCollector pass) against naive attribute access.

Builds vcsim sites with N NFS datastores (tests/vcsim), then per N measures
- the probe: SOAP round trips and wall time of collect_vcenter (login to logout), median of 3
  after one warm-up call (so neither side pays for importing pyVmomi);
- naive: the same facts read by pyVmomi attribute access per datastore (name, summary.type,
  info, host mounts with each host's name, iormConfiguration), one round trip per read.

Usage: .venv-dev/bin/python bench/vsphere_roundtrips.py [N ...]   (default 10 100 500)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "vcsim"))

import vcsim_scenarios as scenarios  # noqa: E402 - path set just above

from holdtime.probes.vsphere import _counting_stub, collect_vcenter, tls_context  # noqa: E402
from holdtime.probes.vsphere_config import VCenter  # noqa: E402

RUNS = 3  # timed calls per side; the median is reported


def naive(vcenter: VCenter) -> tuple[int, float, int]:
    """Per-object attribute access: (round trips, seconds, datastores seen)."""
    from pyVmomi import vim

    began = time.perf_counter()
    stub = _counting_stub(vcenter.host, vcenter.port, tls_context(vcenter), 60.0)
    content = vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
    content.sessionManager.Login(vcenter.username, vcenter.password)
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.Datastore], True)
    facts: list[Any] = []
    for datastore in view.view:
        iorm = datastore.iormConfiguration
        info = datastore.info
        hosts = [mount.key.name for mount in datastore.host]
        facts.append((datastore.name, datastore.summary.type, info.nas.remoteHost, hosts, iorm))
    view.DestroyView()
    content.sessionManager.Logout()
    return int(stub.round_trips), time.perf_counter() - began, len(facts)


def main() -> int:
    """Run the benchmark for each N and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10, 100, 500])
    args = parser.parse_args()
    scenarios.ensure_binary()
    print("| datastores | probe round trips | probe s | naive round trips | naive s | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="holdtime-vsphere-bench-") as scratch:
        for size in args.sizes:
            inventory = scenarios.build(scenarios.bench_scenario(size), Path(scratch) / str(size))
            with scenarios.running(("-load", str(inventory))) as sim:
                vcenter = VCenter(
                    name="bench",
                    host=sim.host,
                    port=sim.port,
                    username=scenarios.USERNAME,
                    password=scenarios.PASSWORD,
                    verify_tls=False,
                )
                # Same conditions for both: pyVmomi imported and its type tables built by a
                # warm-up call, then the median of RUNS timed calls each.
                collect_vcenter(vcenter, 60.0)
                probe_times = []
                for _ in range(RUNS):
                    began = time.perf_counter()
                    observation = collect_vcenter(vcenter, 60.0)
                    probe_times.append(time.perf_counter() - began)
                probe_seconds = statistics.median(probe_times)
                assert len(observation.nfs_datastores) == size
                naive_times = []
                for _ in range(RUNS):
                    naive_trips, seconds, seen = naive(vcenter)
                    naive_times.append(seconds)
                    assert seen == size
                naive_seconds = statistics.median(naive_times)
            print(
                f"| {size} | {observation.round_trips} | {probe_seconds:.3f} | {naive_trips} "
                f"| {naive_seconds:.2f} | {naive_seconds / probe_seconds:.0f}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
