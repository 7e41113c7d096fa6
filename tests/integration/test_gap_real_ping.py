"""`holdtime gap` on logs the real iputils ping writes while this test makes it lose probes.

Three scratch namespaces (prefix HOLDTIME_TEST_LAB_PREFIX + "gap"): `near` pings `far` through
`router`. An nftables drop rule in `far` makes a real loss episode; `-t 1` makes the router
answer with ICMP time exceeded. Nothing leaves the namespaces, which are deleted at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from holdtime import cli

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces"),
]

PREFIX = os.environ.get("HOLDTIME_TEST_LAB_PREFIX", "htlab-") + "gap"
FAR = "10.97.2.2"


@dataclass(frozen=True)
class Path3:
    """near 10.97.1.1 -> router 10.97.1.254 / 10.97.2.254 -> far 10.97.2.2."""

    near: str
    router: str
    far: str

    def ping(self, *args: str) -> str:
        """Run iputils ping in `near`; stdout and stderr as the tool printed them."""
        done = subprocess.run(
            ["ip", "netns", "exec", self.near, "ping", *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout + done.stderr

    def drop_for(self, after_seconds: float, seconds: float) -> threading.Thread:
        """Drop echo requests arriving in `far` for `seconds`, starting `after_seconds` from now."""

        def run() -> None:
            time.sleep(after_seconds)
            nft = ["ip", "netns", "exec", self.far, "nft"]
            subprocess.run([*nft, "add", "table", "inet", "hgap"], check=True)
            subprocess.run(
                [*nft, "add chain inet hgap input { type filter hook input priority 0; }"],
                check=True,
            )
            subprocess.run(
                [*nft, "add rule inet hgap input icmp type echo-request drop"], check=True
            )
            time.sleep(seconds)
            subprocess.run([*nft, "delete", "table", "inet", "hgap"], check=True)

        thread = threading.Thread(target=run)
        thread.start()
        return thread


def _sh(*commands: str) -> None:
    for command in commands:
        subprocess.run(command, shell=True, check=True)


@pytest.fixture(scope="module")
def path3() -> Iterator[Path3]:
    """Build the three namespaces; delete them afterwards whatever happened."""
    names = Path3(f"{PREFIX}-n", f"{PREFIX}-r", f"{PREFIX}-f")
    n, r, f = names.near, names.router, names.far
    # Interface names stay short (15 chars): the namespaces keep them apart.
    try:
        _sh(
            f"ip netns add {n}",
            f"ip netns add {r}",
            f"ip netns add {f}",
            f"ip link add nr netns {n} type veth peer name rn netns {r}",
            f"ip link add rf netns {r} type veth peer name fr netns {f}",
            f"ip -n {n} addr add 10.97.1.1/24 dev nr",
            f"ip -n {r} addr add 10.97.1.254/24 dev rn",
            f"ip -n {r} addr add 10.97.2.254/24 dev rf",
            f"ip -n {f} addr add {FAR}/24 dev fr",
            *(f"ip -n {ns} link set lo up" for ns in (n, r, f)),
            f"ip -n {n} link set nr up",
            f"ip -n {r} link set rn up",
            f"ip -n {r} link set rf up",
            f"ip -n {f} link set fr up",
            f"ip netns exec {r} sysctl -qw net.ipv4.ip_forward=1",
            f"ip netns exec {r} sysctl -qw net.ipv4.icmp_ratelimit=0",
            f"ip -n {n} route add 10.97.2.0/24 via 10.97.1.254",
            f"ip -n {f} route add default via 10.97.2.254",
            f"ip netns exec {n} ping -q -c 2 -i 0.2 {FAR} >/dev/null",
        )
        yield names
    finally:
        for ns in (n, r, f):
            subprocess.run(["ip", "netns", "del", ns], check=False, capture_output=True)


def _gap_json(tmp_path: Path, text: str, *options: str) -> dict[str, object]:
    """`holdtime gap LOG --format json` through the real cli.main, parsed."""
    log = tmp_path / "ping.log"
    log.write_text(text)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert 0 == cli.main(["gap", str(log), "--format", "json", *options])
    document: dict[str, object] = json.loads(out.getvalue())
    return document


def _printed_counts(text: str) -> tuple[int, int]:
    """Transmitted and received from ping's own summary line."""
    summary = next(line for line in text.splitlines() if "packets transmitted" in line)
    words = summary.split()
    return int(words[0]), int(words[3])


def test_quiet_log_reports_the_summary_loss(path3: Path3, tmp_path: Path) -> None:
    """Real `ping -q` with a real 2 s loss: the summary's counts, no invented probes, no outage."""
    dropper = path3.drop_for(1.5, 2.0)
    text = path3.ping("-q", "-c", "6", "-i", "0.5", FAR)
    dropper.join()
    document = _gap_json(tmp_path, text)
    transmitted, received = _printed_counts(text)
    assert 0 < transmitted - received  # the rule really dropped probes
    assert (transmitted, received, [], None, False) == (
        document["sent"],
        document["received"],
        document["episodes"],
        document["total_loss_derived_outage_seconds"],
        document["per_probe"],
    )


def test_timestamped_log_with_loss_agrees_with_its_summary(path3: Path3, tmp_path: Path) -> None:
    """Real `ping -D -O` through a 2 s drop: one episode, and the summary's loss exactly."""
    dropper = path3.drop_for(1.5, 2.0)
    text = path3.ping("-D", "-O", "-c", "10", "-i", "0.5", FAR)
    dropper.join()
    document = _gap_json(tmp_path, text, "--interval", "0.01")
    transmitted, received = _printed_counts(text)
    assert (transmitted, received, "probes") == (
        document["sent"],
        document["received"],
        document["counts_from"],
    )
    assert 1 == len(document["episodes"])  # type: ignore[arg-type]
    notes = document["notes"]
    assert isinstance(notes, list)
    assert any("--interval 0.01 s disagrees with the log's timestamps" in n for n in notes)


def test_ttl_exceeded_lines_are_named_losses(path3: Path3, tmp_path: Path) -> None:
    """Real `ping -t 1` through the router: every probe lost with reason 'Time to live exceeded'."""
    text = path3.ping("-c", "3", "-i", "0.3", "-t", "1", FAR)
    document = _gap_json(tmp_path, text)
    assert (3, 0, 0) == (document["sent"], document["received"], document["skipped_lines"])
    assert [{"reason": "Time to live exceeded", "count": 3, "first_seq": 1}] == document[
        "icmp_errors"
    ]
