"""Turn CheckResults (as stored by the scheduler) into Prometheus metric families.

:class:`CachedExposition` renders only from a snapshot of the
:class:`~holdtime.exporters.state.ResultStore` (a scrape never touches a device), once per store
version and again when a record turns stale, so concurrent scrapes cost a dictionary lookup, not
a render.
"""

from __future__ import annotations

import functools
import platform
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.exposition import generate_latest
from prometheus_client.utils import floatToGoString

from holdtime import __version__
from holdtime.exporters.domain_metrics import (
    CONVERTERS,
    COUNTER,
    INFO,
    STATESET,
    MetricSpec,
    all_specs,
)
from holdtime.exporters.state import JobRecord, ResultStore, Snapshot
from holdtime.models import CheckResult, Status

TEXT_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
STATUSES = tuple(s.value for s in Status)  # every state of holdtime_check_status
_BASE = ("target", "device")


def _lookup(source: str, result: CheckResult, item: Mapping[str, Any]) -> str | None:
    if source == "target":
        return result.target
    if source == "device":
        return result.device
    if source == "check":
        return result.check
    if source == "target.last":
        return result.target.rsplit("/", 1)[-1]
    scope, _, key = source.partition(".")
    container: Mapping[str, Any] = result.observed if scope == "observed" else item
    value = container.get(key)
    return None if value is None else str(value)


def _items(spec: MetricSpec, result: CheckResult) -> list[Mapping[str, Any]]:
    if not spec.each:
        return [result.observed]
    listed = result.observed.get(spec.each)
    if not isinstance(listed, list | tuple):
        return []
    return [item for item in listed if isinstance(item, Mapping)]


class _Family:
    """Samples of one metric family, deduplicated by label values (last one wins)."""

    def __init__(self, spec: MetricSpec) -> None:
        self.spec = spec
        self.label_names = [*_BASE, *(name for name, _ in spec.labels)]
        if spec.kind == STATESET:
            self.label_names.append(spec.state_label)
        self.samples: dict[tuple[str, ...], float] = {}

    def add(self, result: CheckResult, run_timestamp: float) -> None:
        spec = self.spec
        convert = CONVERTERS[spec.convert]
        for item in _items(spec, result):
            labels = [result.target, result.device]
            for _, source in spec.labels:
                labels.append(_lookup(source, result, item) or "")
            if spec.kind == INFO:
                self.samples[tuple(labels)] = 1.0
                continue
            raw = item.get(spec.value) if spec.each else result.observed.get(spec.value)
            if spec.kind == STATESET:
                if raw is None:
                    continue
                current = str(raw).lower()
                for state in spec.states:
                    self.samples[(*labels, state)] = 1.0 if state == current else 0.0
                continue
            value = convert(raw, run_timestamp)
            if value is not None:
                self.samples[tuple(labels)] = value

    def metric(self) -> Metric:
        spec = self.spec
        if spec.kind == COUNTER:
            family: Metric = CounterMetricFamily(
                spec.metric.removesuffix("_total"), spec.help, labels=self.label_names
            )
        elif spec.kind == INFO:
            family = InfoMetricFamily(
                spec.metric.removesuffix("_info"), spec.help, labels=self.label_names
            )
        else:
            family = GaugeMetricFamily(spec.metric, spec.help, labels=self.label_names)
        for labels, value in sorted(self.samples.items()):
            if spec.kind == INFO:
                # an info sample is always 1; a third argument would be a sample timestamp
                family.add_metric(list(labels), {})  # type: ignore[attr-defined]
            else:
                family.add_metric(list(labels), value)  # type: ignore[attr-defined]
        return family


def domain_families(
    results: Iterable[tuple[CheckResult, float]], specs: Sequence[MetricSpec] | None = None
) -> list[Metric]:
    """Domain metric families from (result, run Unix time) pairs, per the declarative table.

    ``specs`` defaults to the built-in table plus the registered checks' own metrics.
    """
    if specs is None:
        specs = _registered_specs()
    by_check: dict[str, list[MetricSpec]] = {}
    for spec in specs:
        by_check.setdefault(spec.check, []).append(spec)
    families = {spec.metric: _Family(spec) for spec in specs}
    for result, run_timestamp in results:
        for spec in by_check.get(result.check, ()):
            families[spec.metric].add(result, run_timestamp)
    return [f.metric() for f in families.values() if f.samples]


@functools.cache
def _registered_specs() -> tuple[MetricSpec, ...]:
    return all_specs()


def check_families(results: Iterable[tuple[CheckResult, float | None]]) -> list[Metric]:
    """holdtime_check_status (one series per state), duration and last-run timestamp."""
    labels = ["check", "target", "device"]
    status = GaugeMetricFamily(
        "holdtime_check_status",
        "Current status of a check on a target: one series per status, 1 for the current one.",
        labels=[*labels, "status"],
    )
    duration = GaugeMetricFamily(
        "holdtime_check_duration_seconds",
        "How long the last run of the check's collection took.",
        labels=labels,
    )
    last_run = GaugeMetricFamily(
        "holdtime_check_last_run_timestamp_seconds",
        "Unix time the check last ran (a stale check is reported as error).",
        labels=labels,
    )
    seen: dict[tuple[str, str], tuple[CheckResult, float | None]] = {}
    for result, run_timestamp in results:
        seen[(result.check, result.target)] = (result, run_timestamp)
    for (check, target), (result, run_timestamp) in sorted(seen.items()):
        values = [check, target, result.device]
        for state in STATUSES:
            status.add_metric([*values, state], 1.0 if state == result.status.value else 0.0)
        if run_timestamp is not None:  # never ran: no duration, no time to show
            duration.add_metric(values, result.duration_seconds)
            last_run.add_metric(values, run_timestamp)
    return [status, duration, last_run]


def build_info() -> Metric:
    """holdtime_build_info{version,python_version} 1."""
    family = GaugeMetricFamily(
        "holdtime_build_info",
        "holdtime version and the Python it runs on; always 1.",
        labels=["version", "python_version"],
    )
    family.add_metric([__version__, platform.python_version()], 1.0)
    return family


def snapshot_families(snapshot: Snapshot, now: float) -> list[Metric]:
    """Every family of /metrics from one snapshot at time `now` (staleness applied)."""
    check_rows: list[tuple[CheckResult, float | None]] = []
    domain_rows: list[tuple[CheckResult, float]] = []
    up = GaugeMetricFamily(
        "holdtime_collector_up",
        "1 when the last collection from the target worked and is fresh, 0 otherwise.",
        labels=["collector", "target"],
    )
    took = GaugeMetricFamily(
        "holdtime_collector_duration_seconds",
        "How long the last collection from the target took.",
        labels=["collector", "target"],
    )
    for record in sorted(snapshot.records, key=lambda r: r.key):
        stale = record.is_stale(now)
        for result in record.effective_results(now):
            check_rows.append((result, record.last_run))
            if not stale and record.last_run is not None:
                domain_rows.append((result, record.last_run))
        if record.last_run is None and not stale:
            continue  # not run yet and not overdue: nothing to say
        up.add_metric([record.collector, record.target], 0.0 if stale or not record.up else 1.0)
        if record.last_run is not None:
            took.add_metric([record.collector, record.target], record.duration_seconds)
    return [
        build_info(),
        up,
        took,
        *check_families(check_rows),
        *domain_families(domain_rows),
    ]


class _Frozen:
    """A collector replaying already-built families (one consistent render)."""

    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


def registry_for(families: Sequence[Metric]) -> CollectorRegistry:
    """A private registry holding exactly these families (no process/platform collectors)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Frozen(families))
    return registry


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _text_name_and_type(family: Metric) -> tuple[str, str]:
    # As prometheus_client's text encoder: counters and info gain their suffix.
    if family.type == "counter":
        return family.name + "_total", "counter"
    if family.type == "info":
        return family.name + "_info", "gauge"
    return family.name, family.type


def _encode(families: Iterable[Metric], headers: dict[str, str]) -> dict[str, str]:
    """family name -> its sample lines as one string; fills `headers` (HELP/TYPE) as it goes.

    One string per family (not a list of lines) keeps the cached fragments to a handful of
    objects, so the garbage collector's full passes stay short under 1000s of results.
    """
    out: dict[str, list[str]] = {}
    for family in families:
        name, kind = _text_name_and_type(family)
        if name not in headers:
            doc = family.documentation.replace("\\", "\\\\").replace("\n", "\\n")
            headers[name] = f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"
        lines = out.setdefault(name, [])
        for sample in family.samples:
            value = floatToGoString(sample.value)  # type: ignore[no-untyped-call]
            if sample.labels:
                labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
                lines.append(f"{sample.name}{{{labels}}} {value}\n")
            else:
                lines.append(f"{sample.name} {value}\n")
    return {name: "".join(lines) for name, lines in out.items() if lines}


# zlib level 1: 85 ms of CPU for the 18 MB body of 1000 replayed routers (1.2 MB out), level 6
# 321 ms (0.9 MB); the background render re-compresses the whole body every few seconds at that
# scale, on the same cores as the checks and the scrapes.
GZIP_LEVEL = 1
_GZIP_CHUNK_BYTES = 256 * 1024  # compressed a chunk at a time: zlib lets go of the GIL per call


@dataclass(frozen=True, slots=True)
class _Fragment:
    """The text lines of one job record, valid while the record and its staleness hold."""

    record: JobRecord
    stale: bool
    lines: dict[str, bytes]  # family name -> sample lines, encoded once per record


class _View:
    """One render of one snapshot: its pieces, joined or compressed once, when first asked.

    The pieces stay separate so a render never builds (and encodes) the whole body in one call
    that holds the interpreter: at 1000 routers an 18 MB ``str.join`` plus ``encode`` held it
    for tens of ms, and every scrape arriving meanwhile waited.
    """

    __slots__ = ("_body", "gzipped", "parts", "valid_until", "version")

    def __init__(self, version: int, valid_until: float, parts: Sequence[bytes]) -> None:
        self.version = version
        self.valid_until = valid_until  # the earliest time a record in it turns stale
        self.parts = tuple(parts)
        self._body: bytes | None = None
        self.gzipped: bytes | None = None

    @property
    def body(self) -> bytes:
        """The whole text payload (joined on first use)."""
        if self._body is None:
            self._body = b"".join(self.parts)
        return self._body

    def compress(self) -> bytes:
        """gzip of the body, fed to zlib in chunks (other threads run between them)."""
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: gzip header and trailer
        out: list[bytes] = []
        chunk: list[bytes] = []
        size = 0
        for part in self.parts:
            chunk.append(part)
            size += len(part)
            if size >= _GZIP_CHUNK_BYTES:
                out.append(packer.compress(b"".join(chunk)))
                chunk, size = [], 0
        out.append(packer.compress(b"".join(chunk)))
        out.append(packer.flush())
        return b"".join(out)


class CachedExposition:
    """The rendered /metrics, re-rendered only when the store changes or a record ages.

    Rendering is incremental: each job record's lines are cached and only records that changed
    (or turned stale) since the last render are encoded again, then the cached lines are joined
    per family. Synchronous mode (default): a scrape that finds the store changed renders it.
    Background mode (:meth:`run_background`, what `holdtime serve` uses): a thread re-renders
    and scrapes always get the last finished render at once. Either way a scrape never calls a
    probe. The payload is always text format 0.0.4 whatever the Accept header: Prometheus reads
    it natively, we use nothing OpenMetrics adds, and prometheus_client's OpenMetrics encoder
    costs twice its text one (236 vs 131 ms for 1000 results here).
    """

    def __init__(
        self,
        store: ResultStore,
        clock: Callable[[], float] | None = None,
        always: Sequence[Metric] = (),
    ) -> None:
        self.store = store
        self.clock = clock or store.clock
        self.always = tuple(always)  # families every body carries after holdtime_build_info
        self._render_lock = threading.Lock()  # one render at a time
        self._lock = threading.Lock()  # guards the lazily made gzip of the current view
        self._view: _View | None = None
        self._fragments: dict[str, _Fragment] = {}
        self._headers: dict[str, str] = {}
        self._order: dict[str, int] = {}  # family name -> first-seen position
        self.last_render_seconds = 0.0
        self._background = False
        self.renders = 0  # how many times a snapshot was rendered (tests, bench)
        self.records_encoded = 0  # how many job records were (re-)encoded (tests, bench)

    def _outdated(self, view: _View | None) -> bool:
        return (
            view is None or view.version != self.store.version or self.clock() >= view.valid_until
        )

    def refresh(self) -> _View:
        """Render the store now if it changed (or aged) since the last render."""
        with self._render_lock:
            view = self._view
            if view is not None and not self._outdated(view):
                return view
            began = time.perf_counter()
            now = self.clock()
            snapshot = self.store.snapshot()
            fragments: dict[str, _Fragment] = {}
            for record in snapshot.records:
                stale = record.is_stale(now)
                cached = self._fragments.get(record.key)
                if cached is None or cached.record is not record or cached.stale != stale:
                    families = [
                        f
                        for f in snapshot_families(Snapshot(0, (record,)), now)
                        if f.name != "holdtime_build_info"  # once per body, not per record
                    ]
                    lines = _encode(families, self._headers)
                    cached = _Fragment(
                        record, stale, {name: text.encode() for name, text in lines.items()}
                    )
                    self.records_encoded += 1
                fragments[record.key] = cached
            self._fragments = fragments
            parts = self._join([build_info(), *self.always], fragments)
            fresh = _View(snapshot.version, snapshot.next_change(now), parts)
            if self._background:
                fresh.gzipped = fresh.compress()  # before scrapes need it
            self._view = fresh
            self.renders += 1
            self.last_render_seconds = time.perf_counter() - began
            return fresh

    def _join(self, always: list[Metric], fragments: dict[str, _Fragment]) -> list[bytes]:
        # Series never repeat across records: a record is one probe on one target, and every
        # series carries the target (or the probe and target); within a record the families
        # are already deduplicated.
        per_family: dict[str, list[bytes]] = {}
        for name, text in _encode(always, self._headers).items():
            per_family.setdefault(name, []).append(text.encode())
        for key in sorted(fragments):
            for name, lines in fragments[key].lines.items():
                per_family.setdefault(name, []).append(lines)
        for name in self._headers:
            self._order.setdefault(name, len(self._order))
        parts: list[bytes] = []
        for name in sorted(per_family, key=self._order.__getitem__):
            parts.append(self._headers[name].encode())
            parts.extend(per_family[name])
        return parts

    def body(self, accept: str | None = None, gzipped: bool = False) -> tuple[bytes, str]:
        """(payload, content type): text format 0.0.4, gzip-compressed if asked."""
        view = self._view
        if view is None or (not self._background and self._outdated(view)):
            view = self.refresh()
        if gzipped and view.gzipped is not None:  # the background render made it: no lock
            return view.gzipped, TEXT_CONTENT_TYPE
        with self._lock:  # a view's body or gzip is made once, by the first scrape needing it
            if not gzipped:
                return view.body, TEXT_CONTENT_TYPE
            if view.gzipped is None:
                view.gzipped = view.compress()
            return view.gzipped, TEXT_CONTENT_TYPE

    def run_background(
        self,
        stop: threading.Event,
        min_interval_seconds: float = 0.5,
        publish: Callable[[Sequence[bytes], bytes, float], None] | None = None,
    ) -> None:
        """Re-render in this thread whenever needed, until `stop` is set.

        Renders are at least `min_interval_seconds` and 4 render-times apart, so rendering takes
        at most a fifth of the interpreter from the threads answering scrapes. `publish`, if
        given, receives every new render: its text pieces, its gzip and the Unix time until
        which it is valid (`holdtime serve`'s probing process hands them to the HTTP process).
        """
        self._background = True
        try:
            if publish is not None:
                self.publish_now(publish)
            while not stop.wait(max(min_interval_seconds, 4 * self.last_render_seconds)):
                if self._outdated(self._view):
                    view = self.refresh()
                    if publish is not None:
                        publish(view.parts, view.gzipped or view.compress(), view.valid_until)
        finally:
            self._background = False

    def publish_now(self, publish: Callable[[Sequence[bytes], bytes, float], None]) -> None:
        """Render the store now (if it changed) and hand the render to `publish`."""
        background, self._background = self._background, True
        try:
            view = self.refresh()
        finally:
            self._background = background
        publish(view.parts, view.gzipped or view.compress(), view.valid_until)


def render_text(families: Sequence[Metric]) -> bytes:
    """Prometheus text format 0.0.4 of these families."""
    return bytes(generate_latest(registry_for(families)))
