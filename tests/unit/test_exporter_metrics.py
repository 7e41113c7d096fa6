"""Check metric families, staleness and the scrape cache, rendered from a ResultStore."""

from __future__ import annotations

import gzip
import threading

from prometheus_client.parser import text_string_to_metric_families

from holdtime.exporters.metrics import CachedExposition, render_text, snapshot_families
from holdtime.exporters.state import ResultStore, Snapshot
from holdtime.models import CheckResult, Status


class Clock:
    """A settable wall clock."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _store(clock: Clock) -> ResultStore:
    store = ResultStore(clock=clock)
    store.register(
        "tcp:svc/1.2.3.4:636",
        collector="tcp",
        target="svc/1.2.3.4:636",
        device="svc",
        checks=["tcp.port_open"],
        interval_seconds=30,
    )
    return store


def _put(store: ResultStore, status: Status, observed: dict[str, object] | None = None) -> None:
    result = CheckResult(
        "tcp.port_open",
        "svc/1.2.3.4:636",
        status,
        "x",
        observed=observed or {},
        device="svc",
        duration_seconds=0.25,
    )
    store.put("tcp:svc/1.2.3.4:636", [result], 0.25)


def _scrape(cache: CachedExposition) -> dict[str, float]:
    body, _ = cache.body(None)
    values = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            if s.name == "holdtime_check_status":
                values[f"status={s.labels['status']}"] = s.value
            elif s.name == "holdtime_collector_up":
                values["up"] = s.value
            elif s.name in (
                "holdtime_check_last_run_timestamp_seconds",
                "holdtime_check_duration_seconds",
            ):
                values[s.name] = s.value
    return values


def _status(status: str) -> dict[str, float]:
    return {f"status={s}": 1.0 if s == status else 0.0 for s in Status._value2member_map_}


def test_fresh_result_is_one_series_per_status_with_timestamp_and_duration() -> None:
    """A fresh PASS: status series for every state (pass=1), last-run time, duration, up=1."""
    clock = Clock()
    store = _store(clock)
    _put(store, Status.PASS)
    clock.now += 10
    expected = {
        **_status("pass"),
        "up": 1.0,
        "holdtime_check_last_run_timestamp_seconds": 1_000.0,
        "holdtime_check_duration_seconds": 0.25,
    }
    assert expected == _scrape(CachedExposition(store))


def test_result_older_than_two_intervals_is_error_stale_not_pass() -> None:
    """After 2x the interval without a run, the PASS turns ERROR and the collector is down."""
    clock = Clock()
    store = _store(clock)
    _put(store, Status.PASS)
    clock.now += 61
    scraped = _scrape(CachedExposition(store))
    assert {**_status("error"), "up": 0.0} == {
        k: v for k, v in scraped.items() if k.startswith("status=") or k == "up"
    }
    (record,) = store.snapshot().records
    assert ("stale",) == record.effective_results(clock.now)[0].reasons


def test_stale_result_drops_its_domain_series() -> None:
    """Domain values of a stale run (e.g. BGP established) vanish rather than linger."""
    clock = Clock()
    store = ResultStore(clock=clock)
    store.register(
        "frr:r1",
        collector="frr",
        target="r1",
        device="r1",
        checks=["bgp.peer_established"],
        interval_seconds=10,
    )
    peer = CheckResult(
        "bgp.peer_established", "r1/n1", Status.PASS, "up", {"state": "Established"}, device="r1"
    )
    store.put("frr:r1", [peer], 0.1)
    cache = CachedExposition(store)
    fresh = b"holdtime_bgp_peer_established{" in cache.body(None)[0]
    clock.now += 21
    stale = b"holdtime_bgp_peer_established{" in cache.body(None)[0]
    assert (True, False) == (fresh, stale)


def test_job_that_never_ran_is_silent_then_error_stale() -> None:
    """A registered job with no run: no series at first, ERROR once 2 intervals pass."""
    clock = Clock()
    store = _store(clock)
    cache = CachedExposition(store)
    before = _scrape(cache)
    clock.now += 61
    after = _scrape(cache)
    assert ({}, {**_status("error"), "up": 0.0}) == (before, after)


def test_error_run_marks_collector_down() -> None:
    """A run whose only result is ERROR (device unreachable) sets collector_up to 0."""
    clock = Clock()
    store = _store(clock)
    _put(store, Status.ERROR)
    assert 0.0 == _scrape(CachedExposition(store))["up"]


def test_scrapes_render_once_per_store_change() -> None:
    """Repeated scrapes reuse one render; a new result or a record going stale re-renders."""
    clock = Clock()
    store = _store(clock)
    _put(store, Status.PASS)
    cache = CachedExposition(store)
    for _ in range(5):
        cache.body(None)
    after_five = cache.renders
    _put(store, Status.FAIL)
    cache.body(None)
    after_put = cache.renders
    clock.now += 61
    cache.body(None)
    assert (1, 2, 3) == (after_five, after_put, cache.renders)


def test_text_format_is_served_even_when_openmetrics_is_offered() -> None:
    """Prometheus' OpenMetrics-first Accept header still gets text 0.0.4 (cheaper to encode)."""
    clock = Clock()
    store = _store(clock)
    _put(store, Status.PASS)
    body, content_type = CachedExposition(store).body(
        "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"
    )
    assert ("text/plain; version=0.0.4; charset=utf-8", False) == (
        content_type,
        body.endswith(b"# EOF\n"),
    )


def _parsed(text: bytes) -> list[tuple[str, tuple[tuple[str, str], ...], float]]:
    """Every sample, sorted (a list, so a duplicated series would show)."""
    return sorted(
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    )


def test_incremental_render_equals_prometheus_client_render() -> None:
    """/metrics (incremental, per-record cache) has exactly the samples generate_latest gives."""
    clock = Clock()
    store = ResultStore(clock=clock)
    for n in range(3):
        key = f"frr:r{n}"
        store.register(
            key, collector="frr", target=f"r{n}", device=f"r{n}",
            checks=["bgp.peer_established"], interval_seconds=30,
        )  # fmt: skip
        peer = CheckResult(
            "bgp.peer_established",
            f"r{n}/10.0.0.{n}",
            Status.PASS,
            'say "hi"\n',
            {"state": "Established", "uptime_seconds": 5, "description": 'quote " back \\'},
            device=f"r{n}",
        )
        store.put(key, [peer], 0.5)
    cache = CachedExposition(store)
    first = cache.body()[0]
    reference_first = render_text(snapshot_families(store.snapshot(), clock.now))
    clock.now += 5
    store.put("frr:r1", [CheckResult("bgp.peer_established", "r1/10.0.0.1", Status.FAIL, "down",
                                     {"state": "Idle"}, device="r1")], 0.1)  # fmt: skip
    second = cache.body()[0]
    reference_second = render_text(snapshot_families(store.snapshot(), clock.now))
    assert (_parsed(reference_first), _parsed(reference_second), 4) == (
        _parsed(first),
        _parsed(second),
        cache.records_encoded,  # three at first, then only the one that changed
    )


class BlockingStore(ResultStore):
    """A store whose next snapshot, once armed, waits until released (a render in progress)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.armed = False
        self.entered = threading.Event()
        self.release = threading.Event()

    def snapshot(self) -> Snapshot:
        if self.armed:
            self.entered.set()
            self.release.wait(30)
        return super().snapshot()


def test_a_scrape_during_a_background_render_gets_the_last_render_at_once() -> None:
    """While the background thread renders a new result, scrapes get the previous render."""
    clock = Clock()
    store = BlockingStore(clock)
    store.register(
        "tcp:svc/1.2.3.4:636", collector="tcp", target="svc/1.2.3.4:636", device="svc",
        checks=["tcp.port_open"], interval_seconds=30,
    )  # fmt: skip
    _put(store, Status.PASS)
    cache = CachedExposition(store)
    before = cache.body(None)[0]
    stop = threading.Event()
    renderer = threading.Thread(target=cache.run_background, args=(stop, 0.01), daemon=True)
    renderer.start()
    store.armed = True
    _put(store, Status.FAIL)
    assert store.entered.wait(30), "the background render never started"
    scraped: list[bytes] = []
    scrape = threading.Thread(
        target=lambda: scraped.extend([cache.body(None)[0], cache.body(None, gzipped=True)[0]])
    )
    scrape.start()
    scrape.join(30)  # a scrape waiting for the render would still be blocked here
    finished = not scrape.is_alive()
    store.armed = False
    store.release.set()
    stop.set()
    renderer.join(30)
    assert (True, [before, before]) == (
        finished,
        [scraped[0], gzip.decompress(scraped[1])] if finished else [],
    )


def test_gzip_of_a_large_body_is_the_plain_body() -> None:
    """A body of many records, compressed a chunk at a time, decompresses to the plain body."""
    clock = Clock()
    store = ResultStore(clock=clock)
    for n in range(3000):
        key = f"tcp:svc{n}/10.0.{n // 250}.{n % 250}:636"
        target = key.partition(":")[2]
        store.register(
            key, collector="tcp", target=target, device=f"svc{n}", checks=["tcp.port_open"],
            interval_seconds=30,
        )  # fmt: skip
        result = CheckResult("tcp.port_open", target, Status.PASS, "ok", device=f"svc{n}")
        store.put(key, [result], 0.1)
    cache = CachedExposition(store)
    packed, plain = cache.body(None, gzipped=True)[0], cache.body(None)[0]
    assert (True, plain) == (len(plain) > 4 * 256 * 1024, gzip.decompress(packed))
