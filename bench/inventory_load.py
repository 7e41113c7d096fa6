"""How long `holdtime inventory validate` takes, now that every family brings its own section.

Loading an inventory imports each registered probe class (its `section` attribute); this bench
shows what that costs and that no heavy library (scapy, paramiko, pyVmomi) comes with it.

Run: .venv/bin/python bench/inventory_load.py [RUNS]
Prints the median wall time of `holdtime inventory validate` in a fresh process for generated
inventories of 1 and 1000 routers, and the in-process load_inventory() time of the 1000.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("scapy", "paramiko", "pyVmomi", "prometheus_client", "dns", "ldap3", "kmip", "sqlalchemy")
PROBE = (
    "import sys, json\n"
    "from holdtime.inventory import load_inventory\n"
    "load_inventory(sys.argv[1])\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
)
IN_PROCESS = (
    "import sys, time\n"
    "from holdtime.inventory import load_inventory\n"
    "load_inventory(sys.argv[1])\n"
    "runs = []\n"
    "for _ in range(5):\n"
    "    began = time.perf_counter(); load_inventory(sys.argv[1])\n"
    "    runs.append(time.perf_counter() - began)\n"
    "print(sorted(runs)[2])"
)

# The probe classes an inventory load imports (their `section`): CPU time, so that a loaded
# machine does not hide the difference, and how many modules come with them.
PROBE_CLASSES = (
    "import sys, time\n"
    "import holdtime.inventory\n"
    "from holdtime import plugins\n"
    "before = set(sys.modules); began = time.process_time()\n"
    "plugins.probe_sections()\n"
    "print(time.process_time() - began, len(set(sys.modules) - before))"
)


def probe_classes(runs: int, cwd: str) -> tuple[float, int]:
    """Median CPU seconds of importing every registered probe class, and the modules it adds."""
    samples = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE_CLASSES],
            check=True,
            capture_output=True,
            text=True,
            cwd=cwd,
        ).stdout.split()
        samples.append((float(out[0]), int(out[1])))
    return statistics.median(s[0] for s in samples), samples[0][1]


def routers_inventory(count: int, folder: Path) -> Path:
    """An inventory of `count` routers with two expected neighbors each."""
    known_hosts = folder / "known_hosts"
    known_hosts.write_text("")
    lines = ["version: 1", "defaults:", "  ssh:", "    username: holdtime",
             f"    known_hosts: {known_hosts}", "routers:"]  # fmt: skip
    for index in range(count):
        lines += [
            f"  - name: r{index}",
            f"    host: 10.{index // 250}.{index % 250}.1",
            "    auth: {agent: true}",
            "    platform: [frr, strongswan]",
            "    expect:",
            "      bgp:",
            "        neighbors:",
            "          - {address: 169.254.10.1, remote_as: 65010}",
            "          - {address: 169.254.20.1, remote_as: 65010}",
            "      ipsec: {tunnels: [esg1, esg2]}",
        ]
    path = folder / f"routers-{count}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def validate_ms(exe: Path, inventory: Path, runs: int) -> float:
    """Median wall time of `holdtime inventory validate FILE` in a new process."""
    subprocess.run([exe, "inventory", "validate", inventory], check=True, capture_output=True)
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([exe, "inventory", "validate", inventory], check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    return statistics.median(times) * 1000


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    exe = Path(sys.executable).with_name("holdtime")
    with tempfile.TemporaryDirectory() as tmp:
        small, big = routers_inventory(1, Path(tmp)), routers_inventory(1000, Path(tmp))
        small_ms = validate_ms(exe, small, runs)
        big_ms = validate_ms(exe, big, max(3, runs // 3))
        loaded = json.loads(
            subprocess.run(
                [sys.executable, "-c", PROBE, small],
                check=True,
                capture_output=True,
                text=True,
                cwd=tmp,
            ).stdout
        )
        classes_cpu, classes_modules = probe_classes(runs, tmp)
        in_process = float(
            subprocess.run(
                [sys.executable, "-c", IN_PROCESS, big],
                check=True,
                capture_output=True,
                text=True,
                cwd=tmp,
            ).stdout
        )
    heavy = [m for m in HEAVY if m in loaded]
    print(
        f"probe classes (the sections): median {classes_cpu * 1000:.1f} ms CPU to import, "
        f"{classes_modules} modules"
    )
    print(f"inventory validate, 1 router: median {small_ms:.0f} ms ({runs} runs)")
    print(f"inventory validate, 1000 routers: median {big_ms:.0f} ms")
    print(f"load_inventory(), 1000 routers, in process: median {in_process * 1000:.0f} ms")
    print(f"heavy modules imported by load_inventory: {', '.join(heavy) or 'none'}")
    return 0 if not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
