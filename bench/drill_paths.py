"""DNS and LDAPS drill paths at 5 attempts per second per path: schedule kept, all counted.

A real named (the lab's zones, holdtime.lab.dns_server) and a real slapd (holdtime.lab.slapd,
a certificate from a fresh lab CA) listen in a scratch network namespace; a DnsProber and an
LdapsProber run side by side, each with PATHS paths at 0.2 s, for SECONDS. Prints JSON per
prober: attempts sent, the outcomes counted, whether sent == sum(outcomes), the max send lag
(how late an attempt left after its absolute deadline) and handshake/answer times.
With --drop-seconds, both servers' traffic is dropped that long (a silent failure): the attempts
in it must come out as timeouts, every one counted.
Run (root): .venv/bin/python bench/drill_paths.py [--seconds 60] [--paths 2] [--drop-seconds 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from holdtime.lab import dns_server
from holdtime.lab.lab_ca import LabCa
from holdtime.lab.slapd import SlapdTls, start_slapd, stop_slapd
from holdtime.probes.dns_config import Resolver
from holdtime.probes.dns_prober import DnsPath, DnsProber
from holdtime.probes.ldaps_prober import LdapsPath, LdapsProber

DNS_ADDRESS, LDAPS_ADDRESS = "10.77.55.1", "10.77.55.2"
INTERVAL_SECONDS = 0.2  # 5 per second per path


def _summary(results: list[Any]) -> dict[str, Any]:
    sent = sum(r.sent for r in results)
    outcomes: dict[str, int] = {}
    for result in results:
        for outcome, count in result.outcomes.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    times = [
        a.answered_at - a.sent_at for r in results for a in r.attempts if a.answered_at is not None
    ]
    # Lateness against the schedule the first attempt set (start + seq * interval): the drift a
    # slow attempt would cause if it held up the sends after it.
    lags = sorted(
        a.sent_at - r.attempts[0].sent_at - a.seq * r.interval_seconds
        for r in results
        for a in r.attempts
    )
    return {
        "paths": len(results),
        "sent": sent,
        "outcomes": outcomes,
        "sent_equals_outcomes": sent == sum(outcomes.values()),
        "max_send_lag_ms": round(1000 * max(r.max_send_lag_seconds for r in results), 2),
        "p99_send_lag_ms": round(1000 * lags[int(0.99 * (len(lags) - 1))], 2),
        "last_attempts_lag_ms": round(
            1000
            * max(
                a.sent_at - r.attempts[0].sent_at - a.seq * r.interval_seconds
                for r in results
                for a in r.attempts[-1:]
            ),
            2,
        ),
        "median_attempt_ms": round(1000 * statistics.median(times), 2) if times else None,
        "max_attempt_ms": round(1000 * max(times), 2) if times else None,
    }


DROP = (
    "table inet htpathdrop {\n chain input {\n type filter hook input priority 0;\n"
    " udp dport 53 drop\n tcp dport 636 drop\n }\n}\n"
)


def _drop(netns: str, args: argparse.Namespace) -> None:
    """A silent failure of both servers for --drop-seconds, a third of the way in."""
    nft = ["ip", "netns", "exec", netns, "nft"]
    time.sleep(args.seconds / 3)
    subprocess.run([*nft, "-f", "-"], input=DROP, text=True, check=True)
    time.sleep(args.drop_seconds)
    subprocess.run([*nft, "delete", "table", "inet", "htpathdrop"], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--paths", type=int, default=2)
    parser.add_argument(
        "--drop-seconds",
        type=float,
        default=0.0,
        help="drop both servers' traffic (nftables, in the namespace) this long, from a third in",
    )
    args = parser.parse_args()
    netns = f"htpath-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    named = None
    slapd = None
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        for address in (DNS_ADDRESS, LDAPS_ADDRESS):
            subprocess.run(
                ["ip", "-n", netns, "addr", "add", f"{address}/32", "dev", "lo"], check=True
            )
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch, "named")
            folder.mkdir()
            for name, text in dns_server.zone_files("dc1").items():
                (folder / name).write_text(text)
            (folder / "named.conf").write_text(dns_server.named_conf(str(folder), DNS_ADDRESS))
            named = subprocess.Popen(
                ["ip", "netns", "exec", netns, *dns_server.named_argv(str(folder))],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            ca = LabCa.create(Path(scratch, "ca"))
            server_name = "dc2.lab.holdtime.test"
            cert = ca.issue_server(Path(scratch, "dc2"), server_name, dns_names=[server_name])
            slapd = start_slapd(
                Path(scratch, "slapd"),
                SlapdTls(cert.cert_path, cert.key_path, ca.cert_path),
                "bench-password",
                netns=netns,
                address=LDAPS_ADDRESS,
            )
            time.sleep(1.5)  # named loads its zones
            dns = DnsProber(
                [
                    DnsPath(Resolver("dc1", DNS_ADDRESS), "db.lab.holdtime.test", netns=netns)
                    for _ in range(args.paths)
                ],
                INTERVAL_SECONDS,
                late_after_seconds=1.0,
            )
            ldaps = LdapsProber(
                [
                    LdapsPath(LDAPS_ADDRESS, 636, server_name, str(ca.cert_path), netns)
                    for _ in range(args.paths)
                ],
                INTERVAL_SECONDS,
                late_after_seconds=1.0,
            )
            found: dict[str, list[Any]] = {}

            def run(name: str, prober: DnsProber | LdapsProber) -> None:
                found[name] = list(prober.run(duration_seconds=args.seconds))

            threads = [
                threading.Thread(target=run, args=("dns", dns)),
                threading.Thread(target=run, args=("ldaps", ldaps)),
            ]
            if args.drop_seconds:
                threads.append(threading.Thread(target=_drop, args=(netns, args)))
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            report = {
                "interval_seconds": INTERVAL_SECONDS,
                "seconds": args.seconds,
                "drop_seconds": args.drop_seconds,
                **{name: _summary(results) for name, results in sorted(found.items())},
            }
            print(json.dumps(report, indent=2))
    finally:
        if slapd is not None:
            stop_slapd(slapd)
        if named is not None:
            named.terminate()
            named.wait(10)
        subprocess.run(["ip", "netns", "del", netns], check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
