"""Benchmark: the kms probe (crypto manager + one PropertyCollector pass) against naive access.

Starts vcsim with holdtime's crypto manager (tests/vcsim/kms.go): P key providers of two KMIP
servers each and V encrypted VMs spread over them, then measures
- the probe: SOAP round trips and wall time of collect_kms (login to logout), median of 3 after
  one warm-up call (so neither side pays for importing pyVmomi);
- naive: the same key ids read by pyVmomi attribute access per VM (`vm.name`,
  `vm.config.keyId`), one round trip per read, after the same ListKmipServers and status task.

Usage: .venv/bin/python bench/kms_roundtrips.py [--providers P] [VMS ...]  (default 10; 200 2000)
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

from holdtime.probes.kms import collect_kms  # noqa: E402
from holdtime.probes.kms_config import KmsSite, KmsTarget  # noqa: E402
from holdtime.probes.vsphere import _counting_stub, tls_context  # noqa: E402
from holdtime.probes.vsphere_config import VCenter  # noqa: E402

RUNS = 3  # timed calls per side; the median is reported


def site(providers: int, vms: int) -> Any:
    """P providers of two servers; VMs 0..V-1 keyed round-robin to them."""
    names = [f"kp-{i:02d}" for i in range(providers)]
    return scenarios.KmsScenario(
        f"bench-{providers}-{vms}",
        tuple(
            scenarios.KeyProvider(
                name,
                (
                    scenarios.KmipServer(f"{name}-a", f"{name}-a.example.net"),
                    scenarios.KmipServer(f"{name}-b", f"{name}-b.example.net"),
                ),
                default=index == 0,
            )
            for index, name in enumerate(names)
        ),
        vms=tuple((i, names[i % providers]) for i in range(vms)),
        vms_per_host=vms,
    )


def naive(vcenter: VCenter) -> tuple[int, float, int]:
    """Per-VM attribute access: (round trips, seconds, encrypted VMs seen)."""
    from pyVmomi import vim

    began = time.perf_counter()
    stub = _counting_stub(vcenter.host, vcenter.port, tls_context(vcenter), 120.0)
    content = vim.ServiceInstance("ServiceInstance", stub).RetrieveContent()
    content.sessionManager.Login(vcenter.username, vcenter.password)
    manager = content.cryptoManager
    manager.ListKmipServers()
    task = manager.RetrieveKmipServersStatus_Task()
    while task.info.state not in ("success", "error"):
        time.sleep(0.05)
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    keyed = 0
    for vm in view.view:
        name, key = vm.name, vm.config.keyId
        keyed += bool(name and key is not None)
    view.DestroyView()
    content.sessionManager.Logout()
    return int(stub.round_trips), time.perf_counter() - began, keyed


def main() -> int:
    """Run the benchmark for each VM count and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--providers", type=int, default=10)
    parser.add_argument("sizes", nargs="*", type=int, default=[200, 2000])
    args = parser.parse_args()
    scenarios.ensure_binary()
    print(
        "| providers | encrypted VMs | probe round trips | probe s "
        "| naive round trips | naive s | speed-up |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="holdtime-kms-bench-") as scratch:
        for size in args.sizes:
            launch = scenarios.kms_args(site(args.providers, size), Path(scratch))
            with scenarios.running(launch) as sim:
                vcenter = VCenter(
                    name="bench",
                    host=sim.host,
                    port=sim.port,
                    username=scenarios.USERNAME,
                    password=scenarios.PASSWORD,
                    verify_tls=False,
                )
                target = KmsTarget(site=KmsSite(vcenter="bench"), vcenter=vcenter)
                collect_kms(target, 120.0)  # warm-up: pyVmomi imported, type tables built
                probe_times = []
                for _ in range(RUNS):
                    began = time.perf_counter()
                    observation = collect_kms(target, 120.0)
                    probe_times.append(time.perf_counter() - began)
                probe_seconds = statistics.median(probe_times)
                assert observation.objects is not None
                assert len(observation.objects) == size
                naive_times = []
                for _ in range(RUNS):
                    naive_trips, seconds, seen = naive(vcenter)
                    naive_times.append(seconds)
                    assert seen == size
                naive_seconds = statistics.median(naive_times)
            print(
                f"| {args.providers} | {size} | {observation.round_trips} | {probe_seconds:.3f} "
                f"| {naive_trips} | {naive_seconds:.2f} | {naive_seconds / probe_seconds:.0f}x |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
