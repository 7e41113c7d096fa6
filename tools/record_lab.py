"""Record the built-in lab into tests/fixtures/recordings/ (healthy, and ESG1's neighbor shut).

Run as root on a machine where `holdtime lab up` works:
    .venv/bin/python tools/record_lab.py [--prefix hrp-] [--out tests/fixtures/recordings]
Each case is a `holdtime record` folder plus a meta.json: how and when it was recorded, and the
versions of the lab's FRR and strongSwan. The lab is brought up and down by this script.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from holdtime import __version__
from holdtime.inventory import load_inventory
from holdtime.lab import Lab
from holdtime.record import record

SHUT = ("conf t", "router bgp 65010", "neighbor 10.10.10.1 shutdown")
UNSHUT = ("conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")


def _versions(lab: Lab) -> dict[str, str]:
    versions = {"holdtime": __version__, "kernel": platform.release()}
    first = lab.vtysh("router", "show version").splitlines()[0]  # FRRouting 8.4.4 (vm) on ...
    versions["frr"] = first.split()[1]
    for package in ("frr", "strongswan-charon", "strongswan-swanctl", "openssh-server"):
        done = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Version}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0:
            versions[f"deb:{package}"] = done.stdout.strip()
    return versions


def _wait_best_path(lab: Lab, via: str, timeout_seconds: float = 30) -> None:
    deadline = time.monotonic() + timeout_seconds
    while lab.best_path() != via:
        if time.monotonic() > deadline:
            raise SystemExit(f"best path did not move to {via} within {timeout_seconds:g} s")
        time.sleep(0.2)


def _case(lab: Lab, out: Path, name: str, how: str) -> None:
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)
    recording, run = record(load_inventory(lab.inventory_path), folder)
    counts: dict[str, int] = {}
    for result in run.results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    meta = {
        "recorded_here": True,
        "recorded_at": recording.manifest["recorded_at"],
        "how": how,
        "command": f"holdtime record -i $(holdtime lab inventory --path --prefix {lab.prefix}) "
        f"-o {folder}",
        "lab": {"prefix": lab.prefix, "bgp_timers": list(lab.timers), "bfd": lab.bfd},
        "versions": _versions(lab),
        "verdicts": dict(sorted(counts.items())),
        "os": "Debian GNU/Linux 12 (bookworm)",
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    print(f"{name}: {len(run.results)} results {meta['verdicts']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", default="hrp-")
    parser.add_argument("--out", type=Path, default=Path("tests/fixtures/recordings"))
    args = parser.parse_args()
    lab = Lab(prefix=args.prefix)
    lab.up(timeout_seconds=90)
    # the lab inventory declares the directory password by its variable
    os.environ.setdefault("HOLDTIME_LAB_LDAP_PASSWORD", lab.ldap_password())
    lab.wait_ready(timeout_seconds=60)
    _case(lab, args.out, "lab-healthy", "`holdtime lab up`, BGP Established, then recorded")
    lab.vtysh("esg1", *SHUT)
    try:
        _wait_best_path(lab, "10.10.10.6")
        _case(
            lab,
            args.out,
            "lab-esg1-shut",
            "`holdtime lab up`, then on esg1 `vtysh -c 'conf t' -c 'router bgp 65010' "
            "-c 'neighbor 10.10.10.1 shutdown'`, best path moved to esg2, then recorded",
        )
    finally:
        lab.vtysh("esg1", *UNSHUT)
        lab.wait_ready(timeout_seconds=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
