"""The outage a drill's configuration allows, predicted before the trigger from what was read.

A silent failure of the active path (no NOTIFICATION, no FIN: a dropped tunnel, a dead link
behind a switch, a frozen bgpd) is detected by the first of: BFD (detect multiplier x receive
interval) or the BGP hold timer. A clean shutdown (``neighbor X shutdown``, a killed bgpd whose
kernel sends a FIN) withdraws at once. Then BGP re-selects and zebra installs the new route.

::

    silent, BFD Up 300 ms x 3    -> about 0.9 s (+ route install)
    silent, hold 9 s, no BFD     -> up to 9 s (+ route install)
    clean                        -> about 0 s (+ route install)

Nothing is predicted from what was not read: timers that could not be read, a path whose
destination is in no watched prefix, or a prefix without a best path give ``worst_case_seconds
None`` with the reason. IKE DPD is not part of the prediction: neither strongSwan's
``swanctl --list-sas``/``--list-conns`` nor libreswan's status shows the DPD settings, and BGP
(or BFD) over the tunnel detects a dead tunnel first with the timers any drill would use.

The functions here are pure: the drill engine hands them the routers' :class:`BgpState` (read
by the observers through the router probe's readers) and the trigger :class:`Action`.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from holdtime.probes.bgp_model import BgpNeighbor, BgpState

if TYPE_CHECKING:  # a check (checks/bgp.py) imports this module: keep it light
    from holdtime.drill.scenario import Action

FAILURE_KINDS = ("silent", "clean")
# BGP best-path selection plus zebra's route install: about 0.5 s measured on the lab (a BFD
# drill with a 0.9 s detection time lost up to 1.0 s, /work/shared/LAB-NOTES.md). A measured
# outage within worst case + this + one probe interval is "within".
ROUTE_INSTALL_ALLOWANCE_SECONDS = 1.0
# Above the prediction by more than this factor (of worst case + allowance): the finding.
FAR_ABOVE_FACTOR = 2.0

# -- how a trigger fails: declared, or inferred from the action ------------------------------
# `neighbor X shutdown`, `bgp shutdown`, `clear bgp`, `no neighbor`, `no router bgp`
_CLEAN_COMMAND = re.compile(
    r"\bshutdown\b|\bclear (ip )?bgp\b|\bno neighbor\b|\bno router bgp\b|systemctl (stop|restart)"
)
# Tools that drop packets or take a link down without telling BGP anything.
_SILENT_TOOLS = {"nft", "iptables", "ip6tables", "tc", "ebtables"}
_SILENT_COMMAND = re.compile(r"\b(nft|iptables|ip6tables|tc)\b|\bip link set\b.*\bdown\b")
# Signals whose process dies: the kernel closes its sockets (FIN/RST), the peer learns at once.
_CLEAN_SIGNALS = {"KILL", "TERM", "INT", "HUP", "QUIT"}


@dataclass(frozen=True, slots=True)
class FailureKind:
    """How the trigger fails the active path, and why holdtime thinks so."""

    kind: str  # silent | clean
    why: str  # "declared: trigger.failure" or the inference, one line
    declared: bool

    def describe(self) -> str:
        """``silent (inferred: ...)`` for the dry run and the report."""
        return f"{self.kind} ({self.why})"


def failure_kind(trigger: Action) -> FailureKind:
    """The trigger's declared ``failure:``, else an inference from what the action does."""
    if trigger.failure:
        return FailureKind(trigger.failure, "declared: trigger.failure", True)
    hint = "; declare trigger.failure: silent|clean to override"
    if trigger.kind == "signal":
        if trigger.signal in _CLEAN_SIGNALS:
            why = f"inferred: SIG{trigger.signal} ends {trigger.process}, its kernel sends a FIN"
            return FailureKind("clean", why + hint, False)
        why = f"inferred: SIG{trigger.signal} freezes {trigger.process}: no keepalive, no FIN"
        return FailureKind("silent", why + hint, False)
    if trigger.kind in ("ssh", "exec"):
        line = trigger.command if trigger.kind == "ssh" else shlex.join(trigger.argv)
        tool = trigger.argv[0].rsplit("/", 1)[-1] if trigger.argv else ""
        if tool in _SILENT_TOOLS or _SILENT_COMMAND.search(line):
            why = f"inferred: `{_short(line)}` drops packets or a link: no NOTIFICATION, no FIN"
            return FailureKind("silent", why + hint, False)
        if _CLEAN_COMMAND.search(line):
            why = f"inferred: `{_short(line)}` shuts BGP down: NOTIFICATION or FIN"
            return FailureKind("clean", why + hint, False)
    why = "assumed: the worst case, holdtime cannot tell from the action what it does"
    return FailureKind("silent", why + hint, False)


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- timers as read ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ActivePath:
    """The neighbor carrying a watched prefix, with its failure detection timers as read."""

    router: str
    prefix: str
    neighbor: str  # the best path's peer address
    hold_time_seconds: float | None
    keepalive_seconds: float | None
    bfd_status: str | None  # None: no BFD on this neighbor
    bfd_detect_multiplier: int | None
    bfd_receive_interval_ms: int | None

    @property
    def bfd_detect_seconds(self) -> float | None:
        """detect multiplier x receive interval, when BFD is Up and both were read."""
        if (self.bfd_status or "").lower() != "up":
            return None
        if self.bfd_detect_multiplier is None or self.bfd_receive_interval_ms is None:
            return None
        return self.bfd_detect_multiplier * self.bfd_receive_interval_ms / 1000.0


def active_paths(router: str, state: BgpState, prefixes: Sequence[str]) -> list[ActivePath]:
    """The active path of each prefix as `state` shows it (no entry for a prefix without one)."""
    found = []
    for prefix in prefixes:
        route = state.routes.get(prefix)
        best = route.best_path if route is not None else None
        if best is None or best.peer == "local":
            continue
        neighbor = state.neighbor(best.peer)
        session = next((b for b in state.bfd_peers or () if b.peer == best.peer), None)
        found.append(
            ActivePath(
                router=router,
                prefix=prefix,
                neighbor=best.peer,
                hold_time_seconds=neighbor.hold_time_seconds if neighbor else None,
                keepalive_seconds=neighbor.keepalive_seconds if neighbor else None,
                bfd_status=_bfd_status(neighbor, session.status if session else None),
                bfd_detect_multiplier=(session.detect_multiplier if session else None)
                or (neighbor.bfd_detect_multiplier if neighbor else None),
                bfd_receive_interval_ms=(session.receive_interval_ms if session else None)
                or (neighbor.bfd_rx_interval_ms if neighbor else None),
            )
        )
    return found


def _bfd_status(neighbor: BgpNeighbor | None, session_status: str | None) -> str | None:
    """The BFD session's own state wins over what the BGP neighbor shows."""
    if session_status:
        return session_status
    return neighbor.bfd_status if neighbor else None


# -- the prediction ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PathPrediction:
    """The predicted worst-case outage of one ping path in one drill."""

    path: str  # ping path name
    failure: str  # silent | clean
    failure_why: str
    worst_case_seconds: float | None  # None: no prediction (see basis)
    basis: str  # "hold time 9 s, no BFD: up to 9 s + route install" / "no prediction: ..."
    router: str = ""
    prefix: str = ""
    neighbor: str = ""
    detected_by: str = ""  # hold_timer | bfd | notification | "" (no prediction)
    clean_worst_case_seconds: float | None = None  # the same path, shut down cleanly
    silent_worst_case_seconds: float | None = None  # the same path, failing silently

    @property
    def bound_seconds(self) -> float | None:
        """The outage still "within" the prediction: worst case + route install allowance."""
        if self.worst_case_seconds is None:
            return None
        return self.worst_case_seconds + ROUTE_INSTALL_ALLOWANCE_SECONDS

    def headline(self) -> str:
        """``predicted <= 9.0 s (silent failure; hold time 9 s, no BFD)`` or the reason."""
        if self.worst_case_seconds is None:
            return self.basis
        return f"predicted {_bound_text(self)} ({self.failure} failure; {self.basis})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {**asdict(self), "bound_seconds": self.bound_seconds}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PathPrediction:
        """Inverse of :meth:`to_dict`."""
        return cls(**{k: v for k, v in data.items() if k != "bound_seconds"})


def _bound_text(prediction: PathPrediction) -> str:
    worst = prediction.worst_case_seconds
    if worst is None:
        return "nothing"
    if prediction.detected_by == "hold_timer":
        return f"<= {worst:.1f} s"
    return f"~{worst:.1f} s"


def neighbor_path(router: str, neighbor: BgpNeighbor) -> ActivePath:
    """A neighbor's timers as an ActivePath (no prefix): what bgp.timers judges."""
    return ActivePath(
        router=router,
        prefix="",
        neighbor=neighbor.address,
        hold_time_seconds=neighbor.hold_time_seconds,
        keepalive_seconds=neighbor.keepalive_seconds,
        bfd_status=neighbor.bfd_status,
        bfd_detect_multiplier=neighbor.bfd_detect_multiplier,
        bfd_receive_interval_ms=neighbor.bfd_rx_interval_ms,
    )


def silent_failure(active: ActivePath) -> tuple[float | None, str, str]:
    """(worst case, basis, detected_by) of a silent failure of `active`: BFD's detection time
    when BFD is Up with its timers read, else the hold time; (None, "", "") without a hold time.

    ``hold time 9 s, no BFD: up to 9 s + route install``; ``BFD 300 ms x 3: about 0.9 s +
    route install``. bgp.timers (checks/bgp.py) says the same words in its WARN.
    """
    bfd = active.bfd_detect_seconds
    hold = active.hold_time_seconds
    if bfd is not None:
        interval = active.bfd_receive_interval_ms
        text = f"BFD {interval} ms x {active.bfd_detect_multiplier}: about {bfd:.1f} s"
        return bfd, text + " + route install", "bfd"
    if hold is None:
        return None, "", ""
    if active.bfd_status is None:
        bfd_note = "no BFD"
    elif (active.bfd_status or "").lower() == "up":
        bfd_note = "BFD Up but its timers not read"
    else:
        bfd_note = f"BFD configured but {active.bfd_status}"
    return hold, f"hold time {hold:g} s, {bfd_note}: up to {hold:g} s + route install", "hold_timer"


def predict(
    path: str,
    destination: str,
    trigger: Action,
    states: Mapping[str, BgpState | str],
    watched_prefixes: Mapping[str, Sequence[str]],
) -> PathPrediction:
    """The prediction for one ping path.

    ``states``: per watched router, its BgpState as read (with neighbor details and BFD), or a
    one-line reason it was not read. ``watched_prefixes``: per router, the prefixes whose best
    path it watches (``expect.bgp.best_paths``). The path's destination picks the prefix (longest
    match); no match, no prediction.
    """
    failure = failure_kind(trigger)

    def none(reason: str, router: str = "", prefix: str = "", neighbor: str = "") -> PathPrediction:
        return PathPrediction(
            path,
            failure.kind,
            failure.why,
            None,
            f"no prediction: {reason}",
            router=router,
            prefix=prefix,
            neighbor=neighbor,
        )

    if not states:
        return none("the drill watches no router (`watch:`), so no timers were read")
    match = _prefix_of(destination, watched_prefixes)
    if match is None:
        routers = ", ".join(sorted(watched_prefixes)) or "none"
        return none(
            f"{path}'s destination {destination} is in no watched prefix "
            f"(expect.bgp.best_paths of {routers})"
        )
    router, prefix = match
    state = states.get(router)
    if not isinstance(state, BgpState):
        return none(f"timers not read from {router} ({state or 'not polled'})", router=router)
    found = active_paths(router, state, [prefix])
    if not found:
        return none(f"{router} shows no best path for {prefix}", router=router, prefix=prefix)
    active = found[0]
    silent_worst, silent_basis, silent_by = silent_failure(active)
    if silent_worst is None:
        return none(
            f"timers not read from {router} (no hold time for {active.neighbor} in the "
            "neighbor details)",
            router,
            prefix,
            active.neighbor,
        )
    if failure.kind == "clean":
        worst, by = 0.0, "notification"
        basis = "clean shutdown (NOTIFICATION/FIN): about 0 s + route install"
    else:
        worst, basis, by = silent_worst, silent_basis, silent_by
    return PathPrediction(
        path=path,
        failure=failure.kind,
        failure_why=failure.why,
        worst_case_seconds=worst,
        basis=f"{active.neighbor} on {router}: {basis}",
        detected_by=by,
        clean_worst_case_seconds=0.0,
        silent_worst_case_seconds=silent_worst,
        router=router,
        prefix=prefix,
        neighbor=active.neighbor,
    )


def _prefix_of(destination: str, watched: Mapping[str, Sequence[str]]) -> tuple[str, str] | None:
    """(router, prefix) of the longest watched prefix holding `destination`."""
    try:
        address = ipaddress.ip_address(destination)
    except ValueError:
        return None
    best: tuple[int, str, str] | None = None
    for router, prefixes in sorted(watched.items()):
        for prefix in prefixes:
            try:
                network = ipaddress.ip_network(prefix, strict=False)
            except ValueError:
                continue
            if address in network and (best is None or network.prefixlen > best[0]):
                best = (network.prefixlen, router, prefix)
    return None if best is None else (best[1], best[2])


# -- measured against predicted ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Comparison:
    """A measured outage set beside its prediction."""

    verdict: str  # within | above | far_above | no_prediction
    text: str  # "measured 8.0 s, predicted <= 9.0 s: within"
    finding: str = ""  # set when the outage is far above: what to chase


def compare(
    prediction: PathPrediction, measured_seconds: float, resolution_seconds: float
) -> Comparison:
    """Within: measured <= worst case + route install + one probe interval; far above: more than
    twice that; above in between."""
    measured = f"measured {measured_seconds:.1f} s"
    bound = prediction.bound_seconds
    if bound is None:
        return Comparison("no_prediction", f"{measured}, {prediction.basis}")
    predicted = f"predicted {_bound_text(prediction)}"
    if measured_seconds <= bound + resolution_seconds:
        return Comparison("within", f"{measured}, {predicted}: within")
    if measured_seconds <= FAR_ABOVE_FACTOR * bound + resolution_seconds:
        return Comparison("above", f"{measured}, {predicted}: ABOVE the prediction")
    return Comparison(
        "far_above",
        f"{measured}, {predicted}: FAR ABOVE the prediction",
        finding=f"{prediction.path}: the outage ({measured_seconds:.1f} s) is far above what "
        f"the timers allow ({prediction.basis}): something else delayed the failover "
        "(route install, a slow backup path, a timer not read, a second failure); chase it",
    )
