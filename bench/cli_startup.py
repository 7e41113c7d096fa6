"""How fast `holdtime --help` starts, and that it imports none of scapy, paramiko, pyVmomi.

Run: .venv/bin/python bench/cli_startup.py [RUNS]   (target: median under 150 ms)
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEAVY = ("scapy", "paramiko", "pyVmomi", "prometheus_client", "dns", "ldap3", "kmip", "sqlalchemy")
PROBE = (
    "import sys, json, runpy; sys.argv=['holdtime','--help'];\n"
    "from holdtime.cli import main\n"
    "import contextlib, io\n"
    "with contextlib.redirect_stdout(io.StringIO()):\n"
    "    try: main(['--help'])\n"
    "    except SystemExit: pass\n"
    "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    exe = Path(sys.executable).with_name("holdtime")
    subprocess.run([exe, "--help"], check=True, capture_output=True)  # warm the page cache
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([exe, "--help"], check=True, capture_output=True)
        times.append(time.perf_counter() - began)
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", PROBE], check=True, capture_output=True, text=True
        ).stdout
    )
    heavy = [m for m in HEAVY if m in loaded]
    median_ms = statistics.median(times) * 1000
    print(
        f"holdtime --help over {runs} runs: median {median_ms:.0f} ms, "
        f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )
    print(f"heavy modules imported: {', '.join(heavy) or 'none'}")
    return 0 if not heavy and median_ms < 150 else 1


if __name__ == "__main__":
    sys.exit(main())
