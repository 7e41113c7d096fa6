"""Build and tear down the built-in lab N times: build time, teardown time, memory of the lab.

Build time is until BGP is Established on both tunnels (and app reaches db); memory is the sum
of VmRSS over every process in the lab's namespaces (charons, FRR, sshd, named, holders).
Run (root): .venv-dev/bin/python bench/lab_build.py [CYCLES] [--prefix P]   (default 3, htbench-)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from holdtime.lab import Lab
from holdtime.lab.processes import rss_kib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cycles", nargs="?", type=int, default=3)
    parser.add_argument("--prefix", default="htbench-")
    args = parser.parse_args()
    lab = Lab(prefix=args.prefix)
    lab.down()  # leftovers of an interrupted run
    build, teardown, memory_mib, processes = [], [], [], []
    for cycle in range(1, args.cycles + 1):
        began = time.perf_counter()
        lab.up(timeout_seconds=90)
        build.append(time.perf_counter() - began)
        pids = lab.pids()
        processes.append(len(pids))
        memory_mib.append(rss_kib(pids) / 1024)
        began = time.perf_counter()
        lab.down()
        teardown.append(time.perf_counter() - began)
        print(
            f"cycle {cycle}: up {build[-1]:.2f} s, down {teardown[-1]:.2f} s, "
            f"{processes[-1]} processes, {memory_mib[-1]:.0f} MiB RSS"
        )
    print(
        f"{args.cycles} cycles: up median {statistics.median(build):.2f} s "
        f"(max {max(build):.2f}), down median {statistics.median(teardown):.2f} s "
        f"(max {max(teardown):.2f}), RSS median {statistics.median(memory_mib):.0f} MiB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
