"""Run one drill: steady state, probes, trigger, observe, restore (always), failback, verdict.

Restore runs whenever the trigger was started: on success, on a failed or raising action, on the
abort threshold, on SIGINT/SIGTERM/SIGHUP/SIGQUIT (signals only wake the engine; they never
interrupt an action half way, a second one neither). A restore counts only once it is verified:
its exit status, then its declared `verify` command or, without one, the steady-state checks
after the drill. A failed restore is the loudest result: `restore_failed` in the result, ERROR,
exit 2, and the failback phase is not measured. Every step is journalled as it happens.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TextIO, cast

from holdtime.drill.events import ControlChange, ConvergenceEvent, ExplainedEpisode
from holdtime.drill.explain import explain_phases
from holdtime.drill.journal import Journal
from holdtime.drill.prediction import PathPrediction
from holdtime.drill.probe_ledger import ProbeLedger
from holdtime.drill.result import ATTEMPT_NOUNS, DrillResult, PhaseOutage, TimelineEvent
from holdtime.drill.scenario import Action, Scenario
from holdtime.errors import HoldtimeError
from holdtime.models import utc_now
from holdtime.probes.dns_path_config import DnsPathConfig
from holdtime.probes.ldaps_path_config import LdapsPathConfig
from holdtime.probes.ping_config import PingPath
from holdtime.probes.router_config import Router

if TYPE_CHECKING:
    import datetime as dt

    from holdtime.drill.deadman import DeadmanSwitch
    from holdtime.gap import GapResult
    from holdtime.inventory import Inventory
    from holdtime.probes.dns_prober import DnsProber
    from holdtime.probes.ldaps_prober import LdapsProber
    from holdtime.probes.ping import PingProber
    from holdtime.probes.router_ping import RouterPinger

MAX_RTT_SAMPLES = 4000  # per path, for the HTML timeline
# Signals that stop a drill the way Ctrl-C does: SIGHUP is what a dropped SSH session sends.
DRILL_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


class ActionRunner(Protocol):
    """Executes declared actions; returns what ran and how it ended."""

    def run(self, action: Action) -> Mapping[str, Any]:
        """Run one action; raise HoldtimeError when it could not be run."""
        ...


class Observer(Protocol):
    """Polls control-plane state: keys like 'vpc-router-1 bgp 10.10.10.2' -> 'Established'."""

    name: str

    def poll(self) -> Mapping[str, str]:
        """One snapshot of the watched state."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


SteadyState = Callable[[Sequence[str]], tuple[str, str]]
"""Runs the checks matching the patterns; returns (verdict 'pass'|'fail', one-line detail)."""

Predict = Callable[[], Sequence[PathPrediction]]
"""The predicted worst-case outage per path (ping or DNS), from what the observers read."""

# After the trigger the watched routers are polled back to back (this pause between polls), so a
# control-plane change is placed within one poll's duration instead of poll_interval_seconds.
FAST_POLL_PAUSE_SECONDS = 0.02
# How long the trigger waits for the first full poll of the watched routers (SSH connect, a
# first read): a prediction and a "before" state need it.
FIRST_POLL_WAIT_SECONDS = 20.0


@dataclass(frozen=True, slots=True)
class PingPlan:
    """One path to run throughout the drill: pings from this host, a netns, or a router, or
    DNS queries to a resolver (``dns``: a `dns_paths:` entry; destination is its address), or
    LDAPS handshakes to a controller (``ldaps``: a resolved `ldaps_paths:` entry)."""

    name: str
    destination: str
    interval_seconds: float
    netns: str | None = None
    source: str | None = None  # source address (bound locally, or ping -I on a router)
    router: Any = None  # an inventory Router: its own ping runs over SSH
    max_outage_seconds: float | None = None  # the path's own budget; None: the drill's
    count: int | None = None  # the path stops after this many probes (ping_paths[].count)
    duration_seconds: float | None = None  # ... or after this long; None: as long as the drill
    dns: DnsPathConfig | None = None  # a DNS path: queries to dns.resolver instead of pings
    ldaps: LdapsPathConfig | None = None  # an LDAPS path: handshakes instead of pings

    @property
    def kind(self) -> str:
        """``ping``, ``dns`` or ``ldaps``: what the path's attempts are."""
        return "dns" if self.dns is not None else "ldaps" if self.ldaps is not None else "ping"

    @property
    def counts_outcomes(self) -> bool:
        """The path's attempts end in named outcomes (DNS answers, LDAPS handshakes)."""
        return self.kind != "ping"

    @property
    def section(self) -> str:
        """The inventory section the path comes from (`ping_paths` or `dns_paths`)."""
        return f"{self.kind}_paths"

    def budget(self, scenario: Scenario) -> tuple[float, str]:
        """The outage budget of this path in `scenario`, and the inventory key it comes from."""
        if self.max_outage_seconds is not None:
            return self.max_outage_seconds, f"{self.section}[{self.name}].expect.max_outage_seconds"
        return (
            scenario.budget.max_outage_seconds,
            f"drills.{scenario.name}.budget.max_outage_seconds",
        )

    @property
    def limit(self) -> str:
        """What ends this path before the drill does ("count: 50 probes"), "" when nothing."""
        if self.count is not None:
            return f"count: {self.count} probes"
        if self.duration_seconds is not None:
            return f"duration_seconds: {self.duration_seconds:g} s"
        return ""

    def limit_seconds(self) -> float | None:
        """How long the path probes at most (count x interval, or duration), None: the drill."""
        if self.count is not None:
            return self.count * self.interval_seconds
        return self.duration_seconds

    def describe(self) -> str:
        """Where the probes start, and what ends them early, for --dry-run."""
        if self.dns is not None:
            dns = self.dns
            where = (
                f"DNS {dns.rdtype} {dns.query} over {dns.transport} to {dns.resolver.name} "
                f"({dns.resolver.address} port {dns.resolver.port}), lost after "
                f"{dns.timeout_seconds:g} s, from "
                + (f"netns {dns.netns}" if dns.netns else "this host")
            )
        elif self.ldaps is not None:
            ldaps = self.ldaps
            where = (
                f"LDAPS handshake to {ldaps.target} verifying "
                f"{ldaps.server_name or ldaps.address} against "
                f"{ldaps.ca_file or 'the system store'}, "
                f"lost after {ldaps.timeout_seconds:g} s, from "
                + (f"netns {ldaps.netns}" if ldaps.netns else "this host")
            )
        elif self.router is not None:
            where = f"router {self.router.name} (its own ping, over SSH)"
        else:
            where = f"netns {self.netns}" if self.netns else "this host"
            where += f" from {self.source}" if self.source else ""
        if self.max_outage_seconds is not None:
            where += f"; its own budget {self.max_outage_seconds:g} s (expect.max_outage_seconds)"
        if self.limit:
            where += f"; stops after {self.limit}, even before the drill ends"
        return where


class _PathStop(threading.Event):
    """Set when the drill stops, or once a router path's own count/duration is over."""

    def __init__(self, drill: threading.Event, clock: Callable[[], float], seconds: float):
        super().__init__()
        self._drill, self._clock, self._deadline = drill, clock, clock() + seconds

    def is_set(self) -> bool:
        """True once the drill stops or the path's time is up."""
        return self._drill.is_set() or self._clock() >= self._deadline


@dataclass
class _Seen:
    """What the polls so far showed: values per key, each observer's last poll start, and the
    peers' "heard" ages ("R heard ADDR" -> (poll began, poll ended, seconds))."""

    values: dict[str, str] = field(default_factory=dict)
    started: dict[str, float] = field(default_factory=dict)
    heard: dict[str, tuple[float, float, str]] = field(default_factory=dict)


@dataclass
class _FlowWatch:
    """Latest live progress of one path (for abort and clean-traffic decisions)."""

    lost: int = 0
    current_gap_seconds: float = 0.0
    last_bad_at: float | None = None


@dataclass
class DrillEngine:
    """Runs one scenario; construct it with real or test collaborators."""

    scenario: Scenario
    pings: Sequence[PingPlan]
    actions: ActionRunner
    journal: Journal
    observers: Sequence[Observer] = ()
    steady_state: SteadyState | None = None
    clock: Callable[[], float] = time.monotonic
    out: TextIO = field(default_factory=lambda: sys.stderr)
    deadman: DeadmanSwitch | None = None  # armed before the trigger, disarmed after a restore
    predict: Predict | None = None  # called just before the trigger
    _wake: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)
    _signal: str = ""
    _abort: str = ""
    _restoring: bool = False
    _restore_failed: str = ""
    _t0: float = 0.0
    _events: list[TimelineEvent] = field(default_factory=list)
    _actions_run: list[Mapping[str, Any]] = field(default_factory=list)
    _watch: dict[str, _FlowWatch] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _probers: dict[str, PingProber | RouterPinger | DnsProber | LdapsProber] = field(
        default_factory=dict
    )
    _ledgers: dict[str, ProbeLedger] = field(default_factory=dict)  # local ping paths
    _ended: dict[str, float] = field(default_factory=dict)  # path -> when its own limit ended it
    _changes: list[ControlChange] = field(default_factory=list)  # polled changes, in order
    _predictions: tuple[PathPrediction, ...] = ()
    _fast: threading.Event = field(default_factory=threading.Event)  # set at the trigger
    _polled: threading.Event = field(default_factory=threading.Event)  # a full poll round done
    _trigger_at: float | None = None  # seconds since the start, once the trigger was sent
    _poll_windows: list[float] = field(default_factory=list)  # change windows after the trigger

    # -- helpers -------------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock() - self._t0

    def _say(self, text: str, at: float | None = None) -> None:
        from holdtime.redaction import redact  # the live lines never show a secret either

        at_text = f"{self._now() if at is None else at:7.2f}"
        # The terminal may be gone (SIGHUP): the journal still has every line. RuntimeError:
        # a signal handler's line interrupting a print of the same thread ("reentrant call").
        with suppress(OSError, ValueError, RuntimeError):
            print(f"[{at_text} s] {redact(text)}", file=self.out, flush=True)

    def _event(self, kind: str, detail: str, source: str = "", at: float | None = None) -> None:
        event = TimelineEvent(
            at_seconds=round(self._now() if at is None else at, 4),
            kind=kind,
            detail=detail,
            source=source,
        )
        with self._lock:
            self._events.append(event)
        self.journal.write("event", **asdict(event))
        self._say(f"{kind}: {detail}" + (f" ({source})" if source else ""), event.at_seconds)

    def _wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; False when woken early by an abort or a signal."""
        deadline = self.clock() + seconds
        while not (self._abort or self._signal):
            remaining = deadline - self.clock()
            if remaining <= 0:
                return True
            self._wake.wait(min(remaining, 0.1))
        return False

    @contextmanager
    def _signals(self) -> Iterator[None]:
        """SIGINT/SIGTERM wake the engine (restore then runs) instead of killing it."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, _frame: object) -> None:
            name = signal.Signals(signum).name
            if not self._signal:
                self._signal = name
                detail = f"{name} received: " + (
                    "the restore is running and will finish" if self._restoring else "restoring"
                )
            else:
                detail = f"{name} received again: ignored, " + (
                    "the restore is running and will finish before holdtime exits"
                    if self._restoring
                    else "holdtime is already stopping (restore first, if the trigger ran)"
                )
            self.journal.write_from_signal_handler(
                "event", at_seconds=round(self._now(), 4), kind="signal", detail=detail, source=""
            )
            self._say(f"signal: {detail}")
            self._wake.set()

        previous = {s: signal.signal(s, handler) for s in DRILL_SIGNALS}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)

    def _run_action(self, role: str, action: Action) -> bool:
        self._event(role, action.describe())
        began = self._now()
        try:
            outcome = dict(self.actions.run(action))
            ok = bool(outcome.get("exit_status", 0) == 0)
        except HoldtimeError as exc:
            outcome, ok = {"error": str(exc)}, False
        except Exception as exc:  # a raising action must still be journalled
            outcome, ok = {"error": f"{type(exc).__name__}: {exc}"}, False
        record = {
            "role": role,
            "action": action.describe(),
            "started_at_seconds": began,
            "duration_seconds": round(self._now() - began, 4),
            **outcome,
        }
        self._actions_run.append(record)
        self.journal.write("action", **record)
        if not ok:
            self._event(f"{role}_failed", str(outcome.get("error") or outcome), action.device)
        return ok

    # -- pings and control plane ---------------------------------------------------------
    def _progress(self, path: str) -> Callable[[Sequence[Any]], None]:
        def update(reports: Sequence[Any]) -> None:
            now = self._now()
            for report in reports:
                watch = self._watch.setdefault(path, _FlowWatch())
                if report.current_gap_seconds > 0 or report.lost > watch.lost:
                    watch.last_bad_at = now
                watch.lost, watch.current_gap_seconds = report.lost, report.current_gap_seconds
                self.journal.write(
                    "sample",
                    at_seconds=round(now, 3),
                    path=path,
                    sent=report.sent,
                    received=report.received,
                    lost=report.lost,
                    current_gap_seconds=round(report.current_gap_seconds, 4),
                )
                limit = self.scenario.budget.abort_outage_seconds
                if report.current_gap_seconds > limit and not self._abort:
                    self._abort = (
                        f"{path} down for {report.current_gap_seconds:.1f} s, over the "
                        f"abort threshold of {limit} s"
                    )
                    self._wake.set()

        return update

    def _prober(self, plan: PingPlan) -> PingProber | RouterPinger | DnsProber | LdapsProber:
        """The local scapy prober, the router's own ping over SSH for a router source, or the
        DNS prober of a `dns_paths:` entry."""
        every = min(0.25, max(plan.interval_seconds, 0.05))
        if plan.dns is not None or plan.ldaps is not None:
            config = plan.dns or plan.ldaps
            assert config is not None  # for mypy: one of the two is set
            prober = config.prober(progress=self._progress(plan.name))
            prober.progress_every_seconds, prober.clock = every, self.clock
            return prober
        if plan.router is not None:
            from holdtime.probes.router_ping import RouterPinger

            return RouterPinger(
                plan.router,
                plan.destination,
                plan.interval_seconds,
                source=plan.source,
                name=plan.name,
                deadline_seconds=router_ping_deadline_seconds(self.scenario),
                progress=self._progress(plan.name),
                progress_every_seconds=every,
                clock=self.clock,
            )
        from holdtime.probes.ping import PingFlow, PingProber

        return PingProber(
            [PingFlow(plan.destination, source=plan.source, netns=plan.netns, name=plan.name)],
            plan.interval_seconds,
            progress=self._progress(plan.name),
            progress_every_seconds=every,
            clock=self.clock,
        )

    def _start_pings(self) -> tuple[list[threading.Thread], dict[str, list[Any]]]:
        outputs: dict[str, list[Any]] = {}
        threads = []
        for plan in self.pings:
            outputs[plan.name] = []
            try:
                prober = self._prober(plan)
            except HoldtimeError as exc:
                outputs[plan.name].append(exc)
                continue
            self._probers[plan.name] = prober
            if plan.router is None and not plan.counts_outcomes:
                self._ledgers[plan.name] = ProbeLedger(
                    plan.interval_seconds,
                    prober.late_after_seconds,
                    origin=self._t0,
                    max_rtt_samples=MAX_RTT_SAMPLES,
                )

            def work(
                prober: PingProber | RouterPinger | DnsProber | LdapsProber = prober,
                sink: list[Any] = outputs[plan.name],
                plan: PingPlan = plan,
            ) -> None:
                try:
                    sink.extend(self._probe(prober, plan))
                except HoldtimeError as exc:
                    sink.append(exc)

            thread = threading.Thread(target=work, name=f"holdtime-drill-{plan.name}", daemon=True)
            thread.start()
            threads.append(thread)
        return threads, outputs

    def _probe(
        self, prober: PingProber | RouterPinger | DnsProber | LdapsProber, plan: PingPlan
    ) -> list[Any]:
        """Run one path until the drill stops it, or until its own count/duration is over."""
        limit = plan.limit_seconds()
        if limit is None:
            return list(prober.run(stop=self._stop))
        if plan.router is not None:  # the router's own ping runs until stopped: stop at the limit
            flows = prober.run(stop=_PathStop(self._stop, self.clock, limit))
        else:  # a local path (a PingProber, DnsProber, LdapsProber) counts and times itself
            flows = cast("PingProber | DnsProber | LdapsProber", prober).run(
                count=plan.count, duration_seconds=plan.duration_seconds, stop=self._stop
            )
        if not self._stop.is_set():
            at = self._now()
            self._ended[plan.name] = at
            self._event(
                "path_stopped",
                f"{plan.name} stopped by its own {plan.limit} ({plan.section}[]) at +{at:.1f} s; "
                "what comes after is not measured on this path",
                plan.name,
            )
        return list(flows)

    def _await_first_probes(self, threads: Sequence[threading.Thread], limit: float = 15.0) -> None:
        """Settle starts only once every path is sending (socket setup, imports take time)."""
        deadline = self.clock() + limit
        names = {plan.name for plan in self.pings}
        while self.clock() < deadline and not (self._abort or self._signal):
            if names <= set(self._watch) or not any(t.is_alive() for t in threads):
                return
            self._wake.wait(0.05)

    def _await_first_poll(self, limit: float = FIRST_POLL_WAIT_SECONDS) -> None:
        """The trigger waits for one full poll of the watched routers (at most `limit`): the
        prediction and the state before the trigger come from it."""
        if not self.observers:
            return
        deadline = self.clock() + limit
        while self.clock() < deadline and not (self._abort or self._signal):
            if self._polled.is_set():
                return
            self._wake.wait(0.05)
        if not self._polled.is_set():
            self._say(f"the watched routers answered no full poll within {limit:g} s")

    def _stream_probes(self) -> None:
        """Once a second, journal the probes whose fate is known, so a killed drill keeps them.

        Local paths (PingProber) and router paths (RouterPinger, from the lines its ping
        printed so far) both give settled_events().
        """
        cursors = dict.fromkeys(self._probers, -1)
        while True:
            stopping = self._stop.wait(1.0)
            for name, prober in self._probers.items():
                ledger = self._ledgers.get(name)
                if ledger is not None:  # the prober forgets them: the ledger keeps the figures
                    events, cursors[name] = cast("PingProber", prober).settled_events(
                        cursors[name], release=True
                    )
                    ledger.feed(events)
                else:
                    events, cursors[name] = prober.settled_events(cursors[name])
                if events:
                    self.journal.write(
                        "probes",
                        path=name,
                        late_after_seconds=prober.late_after_seconds,
                        events=[[e.seq, e.sent_at, e.received_at, e.replied] for e in events],
                    )
            if stopping:
                return

    def _poll_loop(self) -> None:
        """Poll every observer; each change becomes an event placed between two polls.

        A change first seen in a poll happened after the start of the previous poll of that
        observer (which still showed the old value) and before the end of this one: the event
        sits in the middle of that window (journalled as a ``change`` record with both ends).
        """
        seen = _Seen()
        interval = self.scenario.timing.poll_interval_seconds
        while not self._stop.is_set():
            for observer in self.observers:
                began = self._now()
                try:
                    snapshot = dict(observer.poll())
                except HoldtimeError as exc:
                    snapshot = {f"{observer.name} poll": f"error: {exc}"}
                ended = self._now()
                self.journal.write(
                    "sample",
                    at_seconds=round(ended, 3),
                    began_seconds=round(began, 3),
                    observer=observer.name,
                    state=snapshot,
                )
                earliest = seen.started.get(observer.name, began)
                seen.started[observer.name] = began
                self._diff(observer.name, snapshot, seen, earliest, (began, ended))
            self._polled.set()
            if self._fast.is_set():
                self._stop.wait(FAST_POLL_PAUSE_SECONDS)
            else:
                self._stop.wait(interval)

    def _diff(
        self,
        source: str,
        snapshot: Mapping[str, str],
        seen: _Seen,
        earliest: float,
        poll: tuple[float, float],
    ) -> None:
        """The events of one poll against what the polls before it showed."""
        began, ended = poll
        for key, value in sorted(snapshot.items()):
            kind = key.split(" ")[1] if " " in key else "state"
            if kind == "heard":  # seconds since the peer's last message: no event
                seen.heard[key] = (began, ended, value)
                continue
            if seen.values.get(key) == value:
                continue
            before = seen.values.get(key)
            seen.values[key] = value
            if kind == "bgp" and before == "Established":
                self._last_keepalive(key, seen.heard, source)
            change = f"{key}: {before} -> {value}" if before else f"{key}: {value}"
            if before is None:
                if ended > 0:
                    self._event(kind, change, source, at=ended)
                continue
            # Nothing changed before the trigger (the settle period saw a steady state): a
            # window the trigger falls into starts at the trigger.
            start = earliest
            if self._trigger_at is not None and earliest < self._trigger_at <= ended:
                start = self._trigger_at
            self._change(ControlChange(key, before, value, start, ended, source))
            self._event(kind, change, source, at=(start + ended) / 2)

    def _last_keepalive(
        self, key: str, heard: Mapping[str, tuple[float, float, str]], source: str
    ) -> None:
        """The session `key` ("R bgp ADDR") left Established: when was the peer last heard?

        From the last poll that showed it Established: the peer's last message came `age`
        seconds before that poll's read (FRR truncates to the second, so up to a second more).
        """
        router, _, address = key.split(" ", 2)
        reading = heard.get(f"{router} heard {address}")
        if reading is None:
            return
        began, ended, age_text = reading
        try:
            age = float(age_text)
        except ValueError:
            return
        self._change(
            ControlChange(
                f"{router} last_keepalive {address}",
                "",
                f"{age:g} s before a poll",
                began - age - 1.0,
                ended - age,
                source,
            )
        )

    def _change(self, change: ControlChange) -> None:
        with self._lock:
            self._changes.append(change)
            if self._fast.is_set():
                self._poll_windows.append(change.latest_seconds - change.earliest_seconds)
        self.journal.write("change", **change.to_dict())

    def _predict(self) -> None:
        """The predicted outage per path, journalled and said before the trigger runs."""
        if self.predict is None:
            return
        try:
            self._predictions = tuple(self.predict())
        except HoldtimeError as exc:  # a prediction never stops a drill
            self._say(f"prediction: none ({exc})")
            return
        for prediction in self._predictions:
            self.journal.write("prediction", **prediction.to_dict())
            self._say(
                f"prediction {prediction.path}: {prediction.headline()}; failure "
                f"{prediction.failure} ({prediction.failure_why})"
            )

    # -- the drill -----------------------------------------------------------------------
    def run(self) -> DrillResult:
        """Run the scenario end to end and return its result (also journalled).

        Phases: journal the plan; steady state before; start the paths and settle; the
        trigger, observe, and the restore whatever happened (dead man's switch around them);
        failback; stop the probes and observers; steady state after.
        """
        self._t0 = self.clock()
        started_at = utc_now()
        self._journal_start(started_at)
        steady: dict[str, str] = {}
        trigger_at = restore_at = None
        outputs: dict[str, list[Any]] = {}
        with self._signals():
            self._steady_before(steady)
            threads: list[threading.Thread] = []
            poller = threading.Thread(
                target=self._poll_loop, name="holdtime-drill-poll", daemon=True
            )
            streamer = threading.Thread(
                target=self._stream_probes, name="holdtime-drill-stream", daemon=True
            )
            if not self._abort:
                threads, outputs = self._start_and_settle(poller, streamer)
            triggered, trigger_at, restore_at = self._trigger_observe_restore()
            if self._abort:
                self._event("abort", self._abort)
            if triggered and not (self._signal or self._restore_failed):
                self._failback(
                    self.scenario.timing.failback_observe, self.scenario.timing.clean_seconds
                )
            self._stop_probing(threads, poller, streamer)
            self._steady_after(steady, triggered)
        return self._finish(started_at, outputs, trigger_at, restore_at, steady)

    def _journal_start(self, started_at: dt.datetime) -> None:
        scenario = self.scenario
        self.journal.write(
            "start",
            scenario=scenario.name,
            started_at=started_at.isoformat(),
            plan=scenario.plan(),
            description=scenario.description,
            restore=scenario.restore.instruction(),
            paths={plan.name: plan.interval_seconds for plan in self.pings},
            clock_origin=self._t0,  # probe send times minus this: seconds since the start
            budget_seconds=scenario.budget.max_outage_seconds,
            budgets={plan.name: list(plan.budget(scenario)) for plan in self.pings},
            kinds={plan.name: plan.kind for plan in self.pings},  # ping | dns | ldaps
        )

    def _steady_before(self, steady: dict[str, str]) -> None:
        """The declared steady state must pass before anything is touched."""
        if not (self.steady_state and self.scenario.steady_state):
            return
        verdict, detail = self.steady_state(self.scenario.steady_state)
        steady["before"] = verdict
        self._event("steady_state", f"before: {verdict} ({detail})")
        if verdict != "pass":
            self._abort = f"steady state not met before the drill: {detail}"

    def _start_and_settle(
        self, poller: threading.Thread, streamer: threading.Thread
    ) -> tuple[list[threading.Thread], dict[str, list[Any]]]:
        """Start every path and the observers, then require settle_seconds of clean traffic."""
        if self.observers:  # first: its SSH connections open while the probes start
            poller.start()
        threads, outputs = self._start_pings()
        streamer.start()
        self._await_first_probes(threads)
        settle = self.scenario.timing.settle_seconds
        self._event("settle", f"{settle} s of clean traffic required")
        self._wait(settle)
        self._await_first_poll()
        failed = [
            f"{name}: {sink[0]}"
            for name, sink in sorted(outputs.items())
            if sink and isinstance(sink[0], Exception)
        ]
        silent = [p.name for p in self.pings if p.name not in self._watch]
        dirty = [p for p, w in self._watch.items() if w.lost or w.current_gap_seconds]
        if failed and not self._abort:
            self._abort = f"path failed before the trigger: {'; '.join(failed)}"
        elif silent and not self._abort:
            self._abort = f"path never started: {', '.join(silent)}"
        elif dirty and not self._abort:
            self._abort = f"path not clean before the trigger: {', '.join(sorted(dirty))}"
        return threads, outputs

    def _trigger_observe_restore(self) -> tuple[bool, float | None, float | None]:
        """(triggered, trigger offset, restore offset): once triggered, the restore always runs."""
        triggered = False
        trigger_at = restore_at = None
        try:
            # -- dead man's switch: armed on the device, else the trigger never runs --
            if self.deadman is not None and not (self._abort or self._signal):
                self._abort = self.deadman.arm(self._event)
            if not (self._abort or self._signal):
                self._predict()
                triggered = True
                self._fast.set()
                trigger_at = self._trigger_at = self._now()
                if not self._run_action("trigger", self.scenario.trigger):
                    self._abort = self._abort or "the trigger action failed"
                else:
                    self._wait(self.scenario.timing.observe_seconds)
        except KeyboardInterrupt:
            self._signal = self._signal or "SIGINT"
        finally:
            if triggered:
                restore_at = self._now()
                for ledger in self._ledgers.values():
                    ledger.restore_started(restore_at + self._t0)
                self._restore()
            if self.deadman is not None:  # dead man's switch: disarmed unless restore failed
                restored = not triggered or not self._restore_failed
                loud = self.deadman.after_restore(restored, self._event)
                self._abort = "; ".join(t for t in (self._abort, loud) if t)
        return triggered, trigger_at, restore_at

    def _stop_probing(
        self, threads: list[threading.Thread], poller: threading.Thread, streamer: threading.Thread
    ) -> None:
        self._stop.set()
        for thread in threads:
            thread.join(timeout=10)
        if poller.is_alive():
            poller.join(timeout=10)
        if streamer.is_alive():
            streamer.join(timeout=10)
        for observer in self.observers:
            observer.close()

    def _steady_after(self, steady: dict[str, str], triggered: bool) -> None:
        """The steady state again after a clean run; failing it (no verify) fails the restore."""
        scenario = self.scenario
        if not (self.steady_state and scenario.steady_state):
            return
        if steady.get("before") != "pass" or self._signal:
            return
        verdict, detail = self.steady_state(scenario.steady_state)
        steady["after"] = verdict
        self._event("steady_state", f"after: {verdict} ({detail})")
        if (
            verdict != "pass"
            and triggered
            and scenario.restore.verify_action() is None
            and not self._restore_failed  # the first reason (the restore's own) stays
        ):
            self._fail_restore(f"the steady state after the restore fails ({detail})")

    def _restore(self) -> None:
        """Run the restore, then its declared verify; either failing is a failed restore."""
        restore = self.scenario.restore
        self._restoring = True
        try:
            if not self._run_action("restore", restore):
                self._fail_restore("")
                return
            verify = restore.verify_action()
            if verify is not None and not self._verify(verify):
                self._fail_restore(
                    f"`{verify.describe()}` did not pass within "
                    f"{self.scenario.timing.failback_observe} s of the restore"
                )
        finally:
            self._restoring = False

    def _verify(self, verify: Action) -> bool:
        """Retry the verify command once a second until it passes or failback_observe is over.

        A routing protocol needs seconds to come back after a restore; a signal stops the
        retries (after one attempt), never the restore itself.
        """
        give_up = self.clock() + self.scenario.timing.failback_observe
        while True:
            if self._run_action("verify", verify):
                return True
            if self._signal or self.clock() >= give_up:
                return False
            # Not self._wake: an abort leaves it set, which would turn this into a busy loop.
            threading.Event().wait(min(1.0, max(give_up - self.clock(), 0.0)))

    def _fail_restore(self, why: str) -> None:
        """Record the loudest result: the network may still be failed over."""
        self._restore_failed = (
            "restore failed"
            + (f" ({why})" if why else "")
            + f": the trigger is still in effect; {self.scenario.restore.instruction()}"
        )
        self._event("restore_failed", self._restore_failed, self.scenario.restore.device)

    def _failback(self, observe_seconds: float, clean_seconds: float) -> None:
        """Observe after the restore until traffic has been clean for clean_seconds."""
        self._wait(observe_seconds)
        give_up = self.clock() + observe_seconds
        while not self._signal and self.clock() < give_up:
            bad = [w.last_bad_at for w in self._watch.values() if w.last_bad_at is not None]
            if not bad or self._now() - max(bad) >= clean_seconds:
                return
            self._wake.wait(0.1)
        if not self._signal:
            self._abort = self._abort or (
                f"forwarding not clean for {clean_seconds} s after the restore"
            )

    def _cut_short(
        self,
        phases: list[PhaseOutage],
        plan: PingPlan,
        trigger_at: float,
        restore_at: float | None,
    ) -> list[PhaseOutage]:
        """A path its own count/duration ended: the phases it did not reach are not measured.

        A phase it ended inside keeps what it measured (the loss up to there is real), and the
        event already says where it stopped.
        """
        ended = self._ended[plan.name]
        budget_seconds, budget_from = plan.budget(self.scenario)
        kept = [p for p in phases if p.path != plan.name]
        own = {p.phase: p for p in phases if p.path == plan.name}
        for phase, began in _phase_starts(trigger_at, restore_at).items():
            if ended > began and phase in own:
                kept.append(own[phase])
                continue
            if ended > began:
                continue
            event = "trigger" if phase == "failover" else "restore"
            kept.append(
                PhaseOutage(
                    path=plan.name,
                    phase=phase,
                    interval_seconds=plan.interval_seconds,
                    sent=0,
                    lost=0,
                    loss_derived_outage_seconds=0.0,
                    gap_derived_outage_seconds=None,
                    episodes=(),
                    budget_seconds=budget_seconds,
                    budget_from=budget_from,
                    not_measured=f"the path's {plan.limit} ended it at +{ended:.1f} s, "
                    f"before the {event}",
                )
            )
        return kept

    def _finish(
        self,
        started_at: Any,
        outputs: Mapping[str, list[Any]],
        trigger_at: float | None,
        restore_at: float | None,
        steady: Mapping[str, str],
    ) -> DrillResult:
        phases: list[PhaseOutage] = []
        samples: dict[str, tuple[tuple[float, float | None], ...]] = {}
        for plan in self.pings:
            budget_seconds, budget_from = plan.budget(self.scenario)
            for item in outputs.get(plan.name, []):
                if isinstance(item, Exception):
                    self._event("probe_error", str(item), plan.name)
                    self._abort = self._abort or f"{plan.kind} path {plan.name} failed: {item}"
                    continue
                ledger = self._ledgers.get(plan.name)
                # A ledger path streamed its settled probes already: only the rest is here.
                tail = [e for e in item.events if ledger is None or e.seq > ledger.cursor]
                self.journal.write(
                    "flow",
                    path=plan.name,
                    interval_seconds=item.interval_seconds,
                    sent=item.sent,
                    send_errors=getattr(item, "send_errors", 0),  # a PathResult has outcomes
                    events=[[e.seq, e.sent_at, e.received_at, e.replied] for e in tail],
                    **({"outcomes": item.outcomes} if plan.counts_outcomes else {}),
                    **({"streamed": True} if ledger is not None else {}),
                )
                if ledger is not None:
                    ledger.feed(tail)
                    samples[plan.name] = ledger.rtt.samples()
                else:
                    samples[plan.name] = _rtt_samples(item.events, self._t0)
                if trigger_at is None:
                    continue  # nothing was triggered: the probes measured no failover
                for phase, gap, outcomes in self._analysed(plan, item, ledger, restore_at):
                    for episode in gap.episodes:
                        if episode.start_at is not None:
                            self._event(
                                "loss",
                                f"{episode.lost_count} {ATTEMPT_NOUNS[plan.kind]} lost "
                                f"(seq {episode.first_lost_seq}-{episode.last_lost_seq})",
                                plan.name,
                                at=episode.start_at - self._t0,
                            )
                    phases.append(
                        PhaseOutage(
                            path=plan.name,
                            phase=phase,
                            interval_seconds=item.interval_seconds,
                            sent=gap.sent,
                            lost=gap.lost,
                            loss_derived_outage_seconds=round(
                                gap.total_loss_derived_outage_seconds, 6
                            ),
                            gap_derived_outage_seconds=gap.max_gap_derived_outage_seconds,
                            episodes=tuple(e.to_dict() for e in gap.episodes),
                            budget_seconds=budget_seconds,
                            budget_from=budget_from,
                            not_measured="restore failed"
                            if phase == "failback" and self._restore_failed
                            else "",
                            kind=plan.kind,
                            outcomes=outcomes,
                        )
                    )
            if trigger_at is not None and plan.name in self._ended:
                phases = self._cut_short(phases, plan, trigger_at, restore_at)
        convergence, explained = self._explain(phases, trigger_at, restore_at)
        aborted = self._abort or (f"interrupted by {self._signal}" if self._signal else "")
        passed = (
            not aborted
            and not self._restore_failed
            and trigger_at is not None
            and all(p.within_budget for p in phases)
            and all(v == "pass" for v in steady.values())
        )
        result = DrillResult(
            name=self.scenario.name,
            started_at=started_at,
            finished_at=utc_now(),
            passed=passed,
            phases=tuple(phases),
            events=tuple(sorted(self._events, key=lambda e: e.at_seconds)),
            actions=tuple(self._actions_run),
            steady_state=dict(steady),
            aborted=aborted,
            rtt_samples=samples,
            restored=None if trigger_at is None else not self._restore_failed,
            restore_failed=self._restore_failed,
            predictions=self._predictions,
            convergence=convergence,
            explained=explained,
            poll_resolution_seconds=_poll_resolution(self._poll_windows),
        )
        self.journal.write("result", result=result.to_dict())
        return result

    def _analysed(
        self, plan: PingPlan, item: Any, ledger: ProbeLedger | None, restore_at: float | None
    ) -> list[tuple[str, GapResult, dict[str, int]]]:
        """Each phase of one path: its gap result and (DNS, LDAPS) how its attempts ended."""
        if ledger is not None:
            return [(phase, gap, {}) for phase, gap in ledger.phases()]
        from holdtime.gap import analyze

        split = restore_at + self._t0 if restore_at is not None else None
        return [
            (
                phase,
                analyze(events, item.interval_seconds, item.late_after_seconds),
                _outcomes(item, events) if plan.counts_outcomes else {},
            )
            for phase, events in _split(item.events, split)
            if events
        ]

    def _explain(
        self, phases: Sequence[PhaseOutage], trigger_at: float | None, restore_at: float | None
    ) -> tuple[tuple[ConvergenceEvent, ...], tuple[ExplainedEpisode, ...]]:
        """The convergence events on the trigger's axis, and each loss episode with its events."""
        if trigger_at is None:
            return (), ()
        actions = {a["role"]: a["action"] for a in self._actions_run}
        with self._lock:
            changes = list(self._changes)
        return explain_phases(
            phases,
            changes,
            self._predictions,
            trigger_at,
            restore_at,
            origin=self._t0,
            trigger_detail=str(actions.get("trigger", "")),
            restore_detail=str(actions.get("restore", "")),
        )


def _outcomes(item: Any, events: Sequence[Any]) -> dict[str, int]:
    """How the DNS or LDAPS attempts of one phase (its events' seqs) ended: {"answer": 40}."""
    seqs = {e.seq for e in events}
    counts: dict[str, int] = {}
    for attempt in item.attempts:
        if attempt.seq in seqs:
            counts[attempt.outcome] = counts.get(attempt.outcome, 0) + 1
    return dict(sorted(counts.items()))


def _poll_resolution(windows: Sequence[float]) -> float | None:
    """± of the control-plane events after the trigger: half the widest change window."""
    return round(max(windows) / 2, 3) if windows else None


def _phase_starts(trigger_at: float, restore_at: float | None) -> dict[str, float]:
    starts = {"failover": trigger_at}
    if restore_at is not None:
        starts["failback"] = restore_at
    return starts


def _split(events: Sequence[Any], restore_at: float | None) -> list[tuple[str, list[Any]]]:
    """Failover = probes up to the first reply after the restore started; failback = the rest.

    A loss still running when the restore starts is the failover outage continuing (the
    restore command takes time to apply), so the split moves to the first answered probe
    sent after the restore instant.
    """
    if restore_at is None:
        return [("failover", list(events))]
    answered_after = [
        e.sent_at for e in events if e.replied and e.sent_at is not None and e.sent_at >= restore_at
    ]
    split = min(answered_after) if answered_after else restore_at
    before = [e for e in events if e.sent_at is None or e.sent_at < split]
    after = [e for e in events if e.sent_at is not None and e.sent_at >= split]
    return [("failover", before), ("failback", after)]


def _rtt_samples(events: Sequence[Any], t0: float) -> tuple[tuple[float, float | None], ...]:
    by_seq: dict[int, tuple[float, float | None]] = {}
    for e in events:
        if e.sent_at is None:
            continue
        rtt = e.rtt_seconds
        if rtt is None and e.replied and e.received_at is not None:
            rtt = e.received_at - e.sent_at
        if e.seq not in by_seq or by_seq[e.seq][1] is None:
            by_seq[e.seq] = (round(e.sent_at - t0, 4), None if not e.replied else rtt)
    ordered = [by_seq[s] for s in sorted(by_seq)]
    step = max(1, len(ordered) // MAX_RTT_SAMPLES)
    # Keep every lost probe so the timeline never hides a loss, thin the replies.
    return tuple(s for i, s in enumerate(ordered) if s[1] is None or i % step == 0)


def ping_plans(inventory: Inventory, names: Sequence[str]) -> list[PingPlan]:
    """The scenario's paths from the inventory: its ping paths, its DNS paths, its LDAPS paths."""
    plans = []
    for path in inventory.of(PingPath):
        if path.name not in names:
            continue
        source = path.source
        plans.append(
            PingPlan(
                name=path.name,
                destination=str(path.destination),
                interval_seconds=path.interval_seconds,
                netns=source.netns if source.kind == "netns" else None,
                source=source.address,  # bound locally, or `ping -I` on a router
                router=inventory.named(Router, source.router)
                if source.router is not None
                else None,
                max_outage_seconds=path.max_outage_seconds,
                count=path.count,
                duration_seconds=path.duration_seconds,
            )
        )
    for dns in inventory.of(DnsPathConfig):
        if dns.name in names:
            plans.append(
                PingPlan(
                    name=dns.name,
                    destination=dns.resolver.address,  # what the prediction routes
                    interval_seconds=dns.interval_seconds,
                    netns=dns.netns,
                    dns=dns,
                )
            )
    for ldaps in inventory.of(LdapsPathConfig):
        if ldaps.name in names:
            resolved = ldaps.resolved(inventory)
            plans.append(
                PingPlan(
                    name=ldaps.name,
                    destination=resolved.address,  # what the prediction routes
                    interval_seconds=ldaps.interval_seconds,
                    netns=resolved.netns,
                    ldaps=resolved,
                )
            )
    return plans


def router_ping_deadline_seconds(scenario: Scenario) -> float:
    """ping -w on a router: the longest this drill can run, plus 10 minutes.

    Only a hung holdtime meets it: a stopped drill interrupts ping, and a dead one closes the
    SSH connection, which hangs ping's terminal up.
    """
    timing = scenario.timing

    def action_seconds(action: Action) -> float:
        return 3600.0 if action.kind == "manual" else action.timeout_seconds

    return (
        15.0  # waiting for every path's first probe
        + timing.settle_seconds
        + timing.observe_seconds
        + 2 * timing.failback_observe  # observe, then at most as long again to get clean
        + action_seconds(scenario.trigger)
        + action_seconds(scenario.restore)
        + 600.0
    )


def router_ping_line(plan: PingPlan, scenario: Scenario) -> str:
    """The exact command a router-source path runs on the router (CommandRefused if refused)."""
    from holdtime.probes.router_ping import RouterPinger

    pinger = RouterPinger(
        plan.router,
        plan.destination,
        plan.interval_seconds,
        source=plan.source,
        name=plan.name,
        deadline_seconds=router_ping_deadline_seconds(scenario),
    )
    return pinger.command.line
