"""The canonical result records: every report and metric is rendered from these.

A probe returns observations; a check turns observations into :class:`CheckResult`; a run
collects them in a :class:`RunResult`. ``to_dict``/``from_dict`` round-trip through JSON
without loss (timestamps as ISO 8601 UTC, enums as their values).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from holdtime import __version__
from holdtime.errors import HoldtimeError
from holdtime.redaction import redact_value


class Status(enum.Enum):
    """Outcome of one check on one target.

    ERROR means holdtime could not evaluate (unreachable, auth, parse); FAIL means it evaluated
    and the infrastructure is unhealthy. The two are never folded into each other.
    """

    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"

    @property
    def severity(self) -> int:
        """Order used to pick the worst status of a group (SKIP < PASS < WARN < FAIL < ERROR)."""
        return _SEVERITY[self]


_SEVERITY = {Status.SKIP: 0, Status.PASS: 1, Status.WARN: 2, Status.FAIL: 3, Status.ERROR: 4}


def utc_now() -> dt.datetime:
    """The current time as an aware UTC datetime."""
    return dt.datetime.now(dt.UTC)


def _parse_time(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no timezone")
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The verdict of one check on one target."""

    check: str  # "bgp.peer_established"
    target: str  # "vpc-router-1/10.10.10.2"
    status: Status
    summary: str  # one line a human reads first
    observed: Mapping[str, object] = field(default_factory=dict)
    expected: Mapping[str, object] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    duration_seconds: float = 0.0
    device: str = ""  # inventory name of the device/vcenter/path the target belongs to

    def __post_init__(self) -> None:
        # The one place every result passes through: no report, metric or journal shows a secret.
        for name in ("target", "summary", "observed", "expected", "reasons"):
            object.__setattr__(self, name, redact_value(getattr(self, name)))

    @property
    def test_id(self) -> str:
        """Stable id used by pytest and JUnit: ``check[target]``."""
        return f"{self.check}[{self.target}]"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "check": self.check,
            "target": self.target,
            "device": self.device,
            "status": self.status.value,
            "summary": self.summary,
            "observed": dict(self.observed),
            "expected": dict(self.expected),
            "reasons": list(self.reasons),
            "duration_seconds": self.duration_seconds,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Inverse of :meth:`to_dict`."""
        return cls(
            check=str(data["check"]),
            target=str(data["target"]),
            device=str(data.get("device", "")),
            status=Status(data["status"]),
            summary=str(data["summary"]),
            observed=dict(data.get("observed", {})),
            expected=dict(data.get("expected", {})),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            duration_seconds=float(data.get("duration_seconds", 0.0)),
        )


def error_result(
    check: str, target: str, exc: BaseException, *, device: str = "", duration_seconds: float = 0.0
) -> CheckResult:
    """An ERROR result carrying the exception's one-line message (never a traceback).

    The device is the one given, else the error's own (HoldtimeError.device).
    """
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if not device and isinstance(exc, HoldtimeError):
        device = exc.device
    return CheckResult(
        check=check,
        target=target,
        device=device,
        status=Status.ERROR,
        summary=message,
        reasons=(f"{type(exc).__name__}: {message}",),
        duration_seconds=duration_seconds,
    )


@dataclass(frozen=True, slots=True)
class RunResult:
    """Many CheckResults plus the metadata of the run that produced them."""

    results: tuple[CheckResult, ...]
    started_at: dt.datetime
    finished_at: dt.datetime
    inventory_path: str = ""
    holdtime_version: str = __version__
    extras: Mapping[str, object] = field(default_factory=dict)  # e.g. drill results

    def __post_init__(self) -> None:
        # Drill results reach every report through extras: redacted here, like CheckResult.
        object.__setattr__(self, "extras", redact_value(self.extras))

    @classmethod
    def collect(
        cls,
        results: Iterable[CheckResult],
        *,
        started_at: dt.datetime,
        finished_at: dt.datetime | None = None,
        inventory_path: str = "",
        extras: Mapping[str, object] | None = None,
    ) -> RunResult:
        """Build a RunResult with results in a stable order (check, then target)."""
        ordered = tuple(sorted(results, key=lambda r: (r.check, r.target)))
        return cls(
            results=ordered,
            started_at=started_at,
            finished_at=finished_at or utc_now(),
            inventory_path=inventory_path,
            extras=dict(extras or {}),
        )

    @property
    def duration_seconds(self) -> float:
        """Wall-clock length of the run."""
        return (self.finished_at - self.started_at).total_seconds()

    def counts(self) -> dict[Status, int]:
        """Number of results per status (every status present, zero included)."""
        counts = dict.fromkeys(Status, 0)
        for result in self.results:
            counts[result.status] += 1
        return counts

    @property
    def exit_code(self) -> int:
        """CLI exit code: 0 all pass/warn/skip, 1 any fail, 2 any error."""
        statuses = {r.status for r in self.results}
        if Status.ERROR in statuses:
            return 2
        if Status.FAIL in statuses:
            return 1
        return 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "holdtime_version": self.holdtime_version,
            "inventory_path": self.inventory_path,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "counts": {s.value: n for s, n in self.counts().items()},
            "results": [r.to_dict() for r in self.results],
            "extras": dict(self.extras),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunResult:
        """Inverse of :meth:`to_dict` (``counts`` is derived, so it is ignored)."""
        return cls(
            results=tuple(CheckResult.from_dict(r) for r in data.get("results", ())),
            started_at=_parse_time(data["started_at"]),
            finished_at=_parse_time(data["finished_at"]),
            inventory_path=str(data.get("inventory_path", "")),
            holdtime_version=str(data.get("holdtime_version", __version__)),
            extras=dict(data.get("extras", {})),
        )

    def replace(self, **changes: Any) -> RunResult:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)
