"""Control-plane observers and SSH actions for drills, over the routers' verified SSH transport.

A RouterObserver keeps one SSH session to a watched router and, at each poll, reads the BGP
summary, the neighbor details (timers, BFD), the BFD sessions and the best path of every
expected prefix (its routing platform's reader) and the SAs of every IPsec platform (theirs),
as registered in probes/platforms.py. The engine diffs consecutive snapshots into timeline
events such as ``vpc-router-1 bgp 10.10.10.2: Established -> Idle`` or
``vpc-router-1 bfd 10.10.10.2: up -> down``; the last BGP reading also feeds the prediction
(holdtime.drill.prediction) made just before the trigger.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from holdtime.drill.actions import SshCommand
from holdtime.errors import HoldtimeError, ParseError
from holdtime.probes.router_config import Router

if TYPE_CHECKING:
    from holdtime.drill.engine import PingPlan
    from holdtime.drill.prediction import PathPrediction
    from holdtime.drill.scenario import Scenario
    from holdtime.inventory import Inventory
    from holdtime.probes.bgp_model import BgpState
    from holdtime.probes.command_reader import CommandReader
    from holdtime.probes.router_config import Router
    from holdtime.probes.ssh import CommandOutput


class ObservedSession(Protocol):
    """The session an observer keeps: SshSession, or a test's replay of recorded outputs."""

    def run(self, line: str, /) -> CommandOutput:
        """Run one command line."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


class RouterObserver:
    """Polls one router's BGP neighbors, best paths and IPsec SAs.

    It reads through the router probe's own CommandReader and platform readers
    (probes/platforms.py: the read-only allowlist, ``sudo -n`` on a ``sudo: true`` router, the
    same parsers, strongSwan's swanctl-or-stroke choice, libreswan), so a drill never sees a
    router differently from `holdtime check`. A read that failed or was not understood is
    recorded as ``error: ...`` under its key, never as "no SAs" or "no best path".
    """

    def __init__(
        self, router: Router, session_factory: Callable[[Router], ObservedSession] | None = None
    ) -> None:
        self.router = router
        self.name = router.name
        self._session_factory = session_factory or _ssh_session
        self._session: ObservedSession | None = None
        self._command_reader: CommandReader | None = None
        # The last BGP reading (timers, BFD, best paths) or why there is none: the prediction.
        self.bgp_state: BgpState | None = None
        self.bgp_error = "not polled yet"

    def _reader(self) -> CommandReader:
        from holdtime.probes.command_reader import CommandReader

        if self._session is None or self._command_reader is None:
            self._session = self._session_factory(self.router)
            # One reader per session: strongSwan's swanctl-or-stroke choice is made once.
            self._command_reader = CommandReader(self._session, self.router, self.name)
        return self._command_reader

    def poll(self) -> Mapping[str, str]:
        """One snapshot: 'NAME bgp ADDR' -> state, 'NAME best_path PREFIX' -> next hop, ..."""
        from holdtime.probes import platforms

        snapshot: dict[str, str] = {}
        reader = self._reader()
        reader.errors.clear()
        if platforms.of_kind(self.router.platforms, "routing"):
            snapshot.update(self._bgp(reader))
        if platforms.of_kind(self.router.platforms, "ipsec"):
            snapshot.update(self._ipsec(reader))
        return snapshot

    def _bgp(self, reader: CommandReader) -> dict[str, str]:
        from holdtime.probes.router import read_bgp

        try:
            # Summary, neighbor details (timers), the expected prefixes' routes and BFD.
            state = read_bgp(reader, self.router, detail=True)
        except ParseError as exc:
            self.bgp_error = _first_line(exc)
            return {f"{self.name} bgp": f"error: {self.bgp_error}"}
        self.bgp_state, self.bgp_error = state, ""
        if "bgp.neighbors" in reader.errors:
            self.bgp_error = f"neighbor details: {reader.errors['bgp.neighbors']}"
        snapshot = {f"{self.name} bgp {peer.address}": peer.state for peer in state.peers}
        # Seconds since the peer's last message (FRR: to the second): not a state, the engine
        # keeps it to place "last keepalive seen" when the session drops.
        for neighbor in state.neighbors:
            if neighbor.established and neighbor.last_read_seconds is not None:
                age = f"{neighbor.last_read_seconds:g}"
                snapshot[f"{self.name} heard {neighbor.address}"] = age
        if state.bfd_peers is not None:
            snapshot.update({f"{self.name} bfd {b.peer}": b.status for b in state.bfd_peers})
        elif "bfd" in reader.errors and any(n.bfd_status for n in state.neighbors):
            snapshot[f"{self.name} bfd"] = f"error: {reader.errors['bfd']}"
        for best in self.router.expect.bgp.best_paths:
            key = f"{self.name} best_path {best.prefix}"
            route = state.routes.get(best.prefix)
            if route is None:  # the read failed or was not understood: the reader says why
                error = reader.errors.get(f"bgp.route {best.prefix}", "not read")
                snapshot[key] = f"error: {error}"
                continue
            path = route.best_path
            snapshot[key] = path.peer if path else "none"  # `{}`: the prefix is not in the table
        return snapshot

    def _ipsec(self, reader: CommandReader) -> dict[str, str]:
        from holdtime.probes.router import read_ipsec

        try:
            status = read_ipsec(reader, self.router, again=True)  # SAs only
        except ParseError as exc:
            return {f"{self.name} ipsec": f"error: {_first_line(exc)}"}
        snapshot: dict[str, str] = {}
        for sa in status.ike_sas:
            child = "INSTALLED" if any(c.installed for c in sa.children) else "none"
            snapshot[f"{self.name} ipsec {sa.name}"] = f"{sa.state}/{child}"
        return snapshot

    def close(self) -> None:
        """Close the SSH session."""
        if self._session is not None:
            self._session.close()
        self._session = self._command_reader = None


def _ssh_session(router: Router) -> ObservedSession:
    from holdtime.probes.ssh import SshParams, SshSession

    session = SshSession(SshParams.from_router(router))
    session.connect()
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def router_observers(inventory: Inventory, names: Sequence[str]) -> list[RouterObserver]:
    """Observers for the scenario's `watch:` routers."""
    return [RouterObserver(inventory.named(Router, name)) for name in names]


def predictor(
    scenario: Scenario, pings: Sequence[PingPlan], observers: Sequence[RouterObserver]
) -> Callable[[], list[PathPrediction]]:
    """Predict each path's outage from the observers' last BGP reading (no read of its own)."""

    def predict() -> list[PathPrediction]:
        return predict_paths(scenario, pings, observers)

    return predict


def predict_paths(
    scenario: Scenario, pings: Sequence[PingPlan], observers: Sequence[RouterObserver]
) -> list[PathPrediction]:
    """One prediction per ping path from what `observers` last read (see :func:`predictor`)."""
    from holdtime.drill.prediction import predict

    states: dict[str, BgpState | str] = {}
    for observer in observers:
        if observer.bgp_state is not None and not observer.bgp_error:
            states[observer.name] = observer.bgp_state
        else:
            states[observer.name] = observer.bgp_error or "not read"
    prefixes = {o.name: [b.prefix for b in o.router.expect.bgp.best_paths] for o in observers}
    return [
        predict(plan.name, plan.destination, scenario.trigger, states, prefixes) for plan in pings
    ]


def dry_run_predictions(
    inventory: Inventory, scenario: Scenario, pings: Sequence[PingPlan]
) -> list[str]:
    """For --dry-run: one read-only poll of each watched router, then each path's prediction."""
    observers = router_observers(inventory, scenario.watch)
    lines = []
    try:
        for observer in observers:
            try:
                observer.poll()
            except HoldtimeError as exc:
                observer.bgp_error = _first_line(exc)
            lines.append(
                f"read {observer.name} (read-only): "
                + (observer.bgp_error or "BGP timers, BFD and best paths")
            )
        for prediction in predict_paths(scenario, pings, observers):
            lines.append(f"predict {prediction.path}: {prediction.headline()}")
            lines.append(f"        failure {prediction.failure} ({prediction.failure_why})")
            if prediction.worst_case_seconds is not None:
                lines.append(
                    "        a silent failure of this path: "
                    f"{prediction.silent_worst_case_seconds:.1f} s; a clean shutdown: about 0 s"
                )
    finally:
        for observer in observers:
            observer.close()
    return lines


def ssh_command(inventory: Inventory) -> SshCommand:
    """Runs a declared action on an inventory router over its verified SSH transport."""

    def run(device: str, command: str, timeout_seconds: float) -> Mapping[str, Any]:
        from holdtime.probes.ssh import SshParams, SshSession

        router = inventory.named(Router, device)
        with SshSession(SshParams.from_router(router)) as session:
            output = session.run(command, timeout_seconds)
        if output.exit_status != 0:
            detail = (output.stderr or output.stdout).strip().splitlines()
            raise HoldtimeError(
                f"{device}: `{command}` exited {output.exit_status}"
                + (f": {detail[-1]}" if detail else "")
            )
        return {"exit_status": output.exit_status, "output": output.stdout[-2000:]}

    return run
