"""Plugin contracts (Protocols) and the entry-point registry.

Probes (each with its inventory section), checks (with their metrics) and report formats are
registered as entry points in the groups ``holdtime.probes``, ``holdtime.checks`` and
``holdtime.reports``; the built-ins are listed in holdtime's own pyproject, a third party ships
its own package. Publishing (Prometheus exposition, textfile, pushgateway) is holdtime's own and
not a plugin group.

Data flow: ``Probe.targets(inventory)`` names what to look at, ``Probe.collect(target, timeout)``
returns one observation per target (I/O happens only here), and every ``Check`` whose ``probe``
equals the probe's name turns that observation into CheckResults (no I/O). A probe may also
offer ``begin`` (:class:`DeferringProbe`): the runner then lets a collection that has to wait
(the router probe's traffic sample) give its worker back and resume later (:class:`Deferred`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, runtime_checkable

from holdtime.errors import ConfigError
from holdtime.sections import Section

if TYPE_CHECKING:
    from holdtime.exporters.domain_metrics import MetricSpec
    from holdtime.inventory import Inventory
    from holdtime.models import CheckResult, RunResult


C_co = TypeVar("C_co", covariant=True)
"""The config type of a family's inventory entries (Router, VCenter, TcpTarget, ...)."""


@dataclass(frozen=True, slots=True)
class Target(Generic[C_co]):
    """One thing a probe looks at: a TCP endpoint, a router, a vCenter, a ping path."""

    name: str  # display id used in results, e.g. "vpc-router-1" or "dc1-ldaps/10.1.1.10:636"
    device: str  # inventory name of the device/entry
    config: C_co  # the inventory entry (Router, VCenter, TcpTarget, ...)
    timeout_seconds: float = 30.0
    # The checks that will judge this target's observation (set by the runner's plan; empty:
    # unknown, collect everything). A probe may skip reads no selected check needs.
    checks: tuple[str, ...] = ()
    # What those checks read (their `reads`, e.g. "bgp", "ipsec.traffic"; empty: read all).
    reads: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Threshold:
    """One tunable a check compares against, as `holdtime describe` prints it."""

    name: str
    default: object
    unit: str
    meaning: str


@dataclass(frozen=True, slots=True)
class CheckDescription:
    """What a check compares, for `holdtime describe`."""

    name: str
    probe: str
    summary: str
    compares: str
    thresholds: tuple[Threshold, ...] = ()
    statuses: Mapping[str, str] = field(default_factory=dict)  # status value -> when


C = TypeVar("C")


@runtime_checkable
class Probe(Protocol[C]):
    """Talks to devices and returns observations; never decides pass/fail.

    ``section`` is the inventory section the probe owns (its entries are the ``config`` of its
    targets); None for a probe that reads another family's section.
    """

    name: str
    section: Section[C] | None

    def targets(self, inventory: Inventory) -> Sequence[Target[C]]:
        """The targets of this probe in an inventory (no I/O)."""
        ...

    def collect(self, target: Target[C], timeout_seconds: float) -> object:
        """Collect one observation; raise a HoldtimeError subclass when it cannot."""
        ...


@dataclass(frozen=True, slots=True)
class Deferred:
    """A collection that must wait (a traffic sample) and gives its worker back meanwhile.

    What it needs to go on (an open SSH session) lives in ``resume`` and ``close``. The runner
    calls ``resume()`` in a worker once ``time.monotonic()`` reaches ``resume_at``, within the
    target's deadline; ``resume`` returns the observation (or another Deferred) and releases what
    it holds on every path. ``close()`` releases it without resuming (deadline passed, run
    interrupted); it must be safe to call more than once and from any thread.
    """

    resume_at: float  # time.monotonic() value
    resume: Callable[[], object]
    close: Callable[[], None]


@runtime_checkable
class DeferringProbe(Probe[C], Protocol[C]):
    """A probe whose collection may wait without holding a worker (optional, for the runner).

    ``begin`` does what ``collect`` does up to the first wait and returns either the observation
    or a :class:`Deferred`; ``collect`` stays the blocking form every other caller uses
    (:func:`complete` turns one into the other). A probe without ``begin`` is collected with
    ``collect``, as before.
    """

    def begin(self, target: Target[C], timeout_seconds: float) -> object:
        """The observation, or a Deferred to resume later; HoldtimeError when it cannot."""
        ...


def complete(
    outcome: object,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> object:
    """Wait out every Deferred in this thread and return the observation (``collect``'s way)."""
    while isinstance(outcome, Deferred):
        try:
            remaining = outcome.resume_at - clock()
            if remaining > 0:
                sleep(remaining)
        except BaseException:
            outcome.close()
            raise
        outcome = outcome.resume()
    return outcome


C_contra = TypeVar("C_contra", contravariant=True)
O_contra = TypeVar("O_contra", contravariant=True)


@runtime_checkable
class Check(Protocol[C_contra, O_contra]):
    """A pure function of an observation (O) and the target's expectations (its config, C).

    ``holdtime.checks.kit.BaseCheck`` provides every member but ``evaluate`` (and builds
    ``describe`` from class data). Besides those two:

    - ``applies_to(target) -> bool``: False leaves the check out for that target (the plan).
    - ``expected_targets(target) -> Sequence[str]``: the result targets the inventory alone
      names, e.g. ``vpc-router-1/10.10.10.2`` per expected neighbor (no I/O); ``[]`` when it
      lists none. Only the pytest plugin uses it, for one item per target.
    - ``reports_unlisted_targets: bool``: True when ``evaluate`` may also return results for
      targets ``expected_targets`` does not name (an unexpected neighbor); the pytest plugin then
      adds a device item for them. Results about the whole device use the target's own name.
    - ``reads: tuple[str, ...]``: the observation sections the check needs (``"bgp"``,
      ``"ipsec.traffic"``); the plan puts their union in ``Target.reads`` so the probe can skip
      the rest. Empty: the check may read anything, and the probe collects everything.
    - ``metrics: tuple[MetricSpec, ...]``: domain metrics taken from its results' ``observed``
      (holdtime.exporters.domain_metrics); the exporter serves them next to the built-in ones.
    """

    name: str
    probe: str
    reports_unlisted_targets: bool
    reads: tuple[str, ...]
    metrics: tuple[MetricSpec, ...]

    def describe(self) -> CheckDescription:
        """What this check compares, with thresholds and units."""
        ...

    def applies_to(self, target: Target[C_contra]) -> bool:
        """Whether the check runs on this target at all (no I/O)."""
        ...

    def expected_targets(self, target: Target[C_contra]) -> Sequence[str]:
        """The result targets the inventory alone names for this target (no I/O)."""
        ...

    def evaluate(self, target: Target[C_contra], observation: O_contra) -> Sequence[CheckResult]:
        """Judge the observation; no I/O."""
        ...


ReportRenderer = Callable[["RunResult"], str]
"""A report format: renders a whole RunResult to text."""


@functools.cache
def _load_group(group: str) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    for entry in entry_points(group=group):
        try:
            loaded[entry.name] = entry.load()
        except Exception as exc:
            raise ConfigError(
                f"plugin {entry.name!r} in {group} ({entry.value}) failed to load: {exc}"
            ) from exc
    return loaded


def probe_sections() -> list[Section[Any]]:
    """The inventory section of every registered probe (read from the class: no instance)."""
    sections: list[Section[Any]] = []
    for name, factory in _load_group("holdtime.probes").items():
        section = getattr(factory, "section", None)  # a plugin's class attribute, not our data
        if section is None:
            continue
        if not isinstance(section, Section):
            raise ConfigError(
                f"probe plugin {name!r}: its `section` is {type(section).__name__}, "
                "not a holdtime.sections.Section"
            )
        sections.append(section)
    return sections


def probes() -> dict[str, Probe[Any]]:
    """Every registered probe, instantiated, by name."""
    return {name: factory() for name, factory in _load_group("holdtime.probes").items()}


def checks() -> dict[str, Check[Any, Any]]:
    """Every registered check, instantiated, by name."""
    return {name: factory() for name, factory in _load_group("holdtime.checks").items()}


def report_formats() -> dict[str, ReportRenderer]:
    """Every registered report renderer by format name."""
    return dict(_load_group("holdtime.reports"))
