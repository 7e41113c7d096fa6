"""A real named in a scratch network namespace, serving the lab's zones (no lab needed)."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from holdtime.lab import dns_server


@dataclass
class ScratchNamed:
    """named listening on `address` inside `netns`; `stop()` ends it (the test's fault)."""

    netns: str
    address: str
    folder: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start named and wait until it answers over TCP."""
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", self.netns, *dns_server.named_argv(str(self.folder))],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        dig = ["ip", "netns", "exec", self.netns, "dig", "+tcp", "+time=1", "+tries=1"]
        dig += [f"@{self.address}", "lab.holdtime.test", "SOA"]
        for _ in range(100):
            done = subprocess.run(dig, capture_output=True, text=True, check=False)
            if "status: NOERROR" in done.stdout:
                return
            time.sleep(0.05)
        raise RuntimeError(f"named did not start (see {self.folder / 'named.log'})")

    def stop(self) -> None:
        """Stop named (SIGTERM) and wait for it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def nft(self, rules: str) -> None:
        """Load nftables rules in the namespace."""
        subprocess.run(
            ["ip", "netns", "exec", self.netns, "nft", "-f", "-"],
            input=rules,
            text=True,
            check=True,
        )


@contextmanager
def scratch_named(tmp_path: Path, address: str = "10.77.53.1") -> Iterator[ScratchNamed]:
    """named with the lab's zones on `address` (a loopback address of a new namespace)."""
    netns = f"htdns-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    server = ScratchNamed(netns, address, tmp_path)
    try:
        subprocess.run(["ip", "-n", netns, "link", "set", "lo", "up"], check=True)
        subprocess.run(["ip", "-n", netns, "addr", "add", f"{address}/32", "dev", "lo"], check=True)
        for name, text in dns_server.zone_files("dc1").items():
            (tmp_path / name).write_text(text)
        (tmp_path / "named.conf").write_text(dns_server.named_conf(str(tmp_path), address))
        server.start()
        yield server
    finally:
        server.stop()
        subprocess.run(["ip", "netns", "del", netns], check=False)
