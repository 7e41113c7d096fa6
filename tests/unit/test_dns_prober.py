"""DnsProber's accounting with an injected exchange replaying real named answers (no network)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from holdtime.errors import ConfigError
from holdtime.probes.dns import SocketSupply
from holdtime.probes.dns_config import Resolver
from holdtime.probes.dns_prober import DnsPath, DnsProber

FIXTURES = Path(__file__).parent.parent / "fixtures" / "named" / "query"
ANSWER = (FIXTURES / "a_answer" / "response.wire").read_bytes()  # db.lab.holdtime.test A
PATH = DnsPath(Resolver("dc1", "192.0.2.53"), "db.lab.holdtime.test")


class Replay:
    """Answers with named's recorded answer, except calls number `failing` (timeouts)."""

    def __init__(self, failing: set[int]) -> None:
        self.failing = failing
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(
        self, resolver: Resolver, wire: bytes, transport: str, timeout: float, sockets: SocketSupply
    ) -> bytes:
        with self.lock:
            self.calls += 1
            call = self.calls
        if call in self.failing:
            raise TimeoutError("timed out")
        return wire[:2] + ANSWER[2:]  # named's answer under this query's id


def test_every_attempt_is_accounted_for() -> None:
    """10 sent, 3 time out: 7 answered events and 3 lost ones, outcomes counted exactly."""
    (result,) = DnsProber([PATH], 0.01, late_after_seconds=0.5, send=Replay({3, 4, 5})).run(
        count=10
    )
    replied = sorted(e.seq for e in result.events if e.replied)
    assert (10, 3, {"answer": 7, "timeout": 3}, 7) == (
        result.sent,
        result.failed,
        result.outcomes,
        len(replied),
    )
    assert list(range(10)) == sorted(e.seq for e in result.events)


def test_settled_events_stream_each_attempt_once() -> None:
    """settled_events after the run returns every attempt once and moves the cursor to the end."""
    prober = DnsProber([PATH], 0.01, late_after_seconds=0.0, send=Replay(set()))
    prober.run(count=5)
    events, cursor = prober.settled_events(-1)
    again, same = prober.settled_events(cursor)
    assert ([0, 1, 2, 3, 4], 4, [], 4) == ([e.seq for e in events], cursor, again, same)


@pytest.mark.parametrize(
    ("paths", "interval", "message"),
    [
        ([], 0.2, "at least one path"),
        ([PATH], 0.001, "interval must be"),
        ([DnsPath(PATH.resolver, "x.example", transport="dot")], 0.2, "udp or tcp"),
    ],
)
def test_bad_prober_settings_are_config_errors(
    paths: list[DnsPath], interval: float, message: str
) -> None:
    """No path, too short an interval, an unknown transport: ConfigError naming it."""
    with pytest.raises(ConfigError, match=message):
        DnsProber(paths, interval)


def test_snapshot_counts_like_the_ping_prober() -> None:
    """After the run: sent, answered, lost (failed, settled) as the drill's Progress reads them."""
    prober = DnsProber([PATH], 0.01, late_after_seconds=0.5, send=Replay({2, 6}))
    prober.run(count=8)
    later = time.monotonic() + 10  # every attempt settled: sent more than late_after ago
    prober.clock = lambda: later
    (progress,) = prober.snapshot(start=later - 11)
    assert (PATH.label, 8, 6, 2) == (progress.flow, progress.sent, progress.received, progress.lost)


def test_progress_callback_is_called_while_probing() -> None:
    """A progress callback gets Progress reports during the run (the drill's abort watch)."""
    seen: list[int] = []
    prober = DnsProber(
        [PATH],
        0.01,
        late_after_seconds=0.5,
        send=Replay(set()),
        progress=lambda reports: seen.append(reports[0].sent),
        progress_every_seconds=0.05,
    )
    prober.run(count=30)
    assert (True, True) == (len(seen) > 0, all(0 < sent <= 30 for sent in seen))


PATHS = """\
dns_paths:
  - name: dc1-db
    resolver: {name: dc1, address: 172.16.1.11}
    query: DB.lab.holdtime.test.
    transport: tcp
    interval_seconds: 0.2
"""


@pytest.fixture
def with_dns_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inventory loader lists DNS_PATHS as it will once the drill engine reads it."""
    from holdtime import inventory
    from holdtime.probes.dns_path_config import DNS_PATHS

    sections = inventory.registered_sections()
    monkeypatch.setattr(inventory, "registered_sections", lambda: (*sections, DNS_PATHS))


@pytest.mark.usefixtures("with_dns_paths")
def test_dns_path_section_builds_the_prober(tmp_path: Path) -> None:
    """A dns_paths entry: the resolver, the name lower-cased, TCP, 0.2 s, 1 s late-after."""
    from holdtime.inventory import load_inventory
    from holdtime.probes.dns_path_config import DnsPathConfig

    path = tmp_path / "inventory.yaml"
    path.write_text(PATHS)
    (entry,) = load_inventory(path).of(DnsPathConfig)
    prober = entry.prober()
    (dns_path,) = prober.paths
    assert (Resolver("dc1", "172.16.1.11"), "db.lab.holdtime.test", "tcp", 0.2, 1.0) == (
        dns_path.resolver,
        dns_path.qname,
        dns_path.transport,
        prober.interval_seconds,
        prober.late_after_seconds,
    )


@pytest.mark.usefixtures("with_dns_paths")
@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("transport: tcp", "transport: dot"), "transport: 'dot' is not one of"),
        (("address: 172.16.1.11", "address: dc1"), "is not an IP address"),
        (("DB.lab.holdtime.test.", "172.16.1.10"), "is an IP address, not a DNS name"),
    ],
)
def test_bad_dns_paths_are_one_line(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    """An unknown transport, a resolver without an address, an address as the query."""
    from holdtime.inventory import load_inventory

    path = tmp_path / "inventory.yaml"
    path.write_text(PATHS.replace(*change))
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    lines = str(caught.value).splitlines()
    assert (True, True) == (lines[0].startswith(f"{path}:"), problem in lines[0])
