"""Control-plane observers and SSH actions for drills, over the routers' verified SSH transport.

A RouterObserver keeps one SSH session to a watched router and, at each poll, reads the BGP
summary, the best path of every expected prefix and (for strongSwan routers) the SAs of each
vici socket. The engine diffs consecutive snapshots into timeline events such as
``vpc-router-1 bgp 10.10.10.2: Established -> Idle``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from holdtime.drill.actions import SshCommand
from holdtime.errors import HoldtimeError, ParseError
from holdtime.probes.router_config import Router


class RouterObserver:
    """Polls one router's BGP neighbors, best paths and IPsec SAs.

    It reads through the router probe's own CommandReader and readers (the read-only allowlist,
    the same parsers, strongSwan's swanctl-or-stroke choice, libreswan), so a drill never sees
    a router differently from `holdtime check`. A read that failed or was not understood is
    recorded as ``error: ...`` under its key, never as "no SAs" or "no best path".
    """

    def __init__(self, router: Any, session_factory: Callable[[Any], Any] | None = None) -> None:
        self.router = router
        self.name = str(router.name)
        self._session_factory = session_factory or _ssh_session
        self._session: Any = None
        self._command_reader: Any = None

    def _reader(self) -> Any:
        from holdtime.probes.router import CommandReader

        if self._session is None:
            self._session = self._session_factory(self.router)
            # One reader per session: strongSwan's swanctl-or-stroke choice is made once.
            self._command_reader = CommandReader(self._session, self.router, self.name)
        return self._command_reader

    def poll(self) -> Mapping[str, str]:
        """One snapshot: 'NAME bgp ADDR' -> state, 'NAME best_path PREFIX' -> next hop, ..."""
        snapshot: dict[str, str] = {}
        platforms = tuple(self.router.platforms)
        reader = self._reader()
        if "frr" in platforms:
            snapshot.update(self._bgp(reader))
        if "strongswan" in platforms or "libreswan" in platforms:
            snapshot.update(self._ipsec(reader, platforms))
        return snapshot

    def _bgp(self, reader: Any) -> dict[str, str]:
        from holdtime.probes import frr

        snapshot: dict[str, str] = {}
        try:
            peers = frr.parse_frr_bgp_summary_json(
                reader.text("frr", "show bgp vrf all summary json")
            )
        except ParseError as exc:
            snapshot[f"{self.name} bgp"] = f"error: {_first_line(exc)}"
        else:
            for peer in peers:
                snapshot[f"{self.name} bgp {peer.address}"] = peer.state
        for best in self.router.expect.bgp.best_paths:
            key = f"{self.name} best_path {best.prefix}"
            try:
                route = frr.parse_frr_bgp_route_json(
                    reader.text("frr", f"show bgp ipv4 unicast {best.prefix} json")
                )
            except ParseError as exc:
                snapshot[key] = f"error: {_first_line(exc)}"
                continue
            hops = [path.peer for path in route.paths if path.best]
            snapshot[key] = hops[0] if hops else "none"  # `{}`: the prefix is not in the table
        return snapshot

    def _ipsec(self, reader: Any, platforms: tuple[str, ...]) -> dict[str, str]:
        from holdtime.probes.router import read_ipsec

        try:
            status = read_ipsec(reader, self.router, platforms, again=True)  # SAs only
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


def _ssh_session(router: Any) -> Any:
    from holdtime.probes.ssh import SshParams, SshSession

    session = SshSession(SshParams.from_router(router))
    session.connect()
    return session


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def router_observers(inventory: Any, names: Sequence[str]) -> list[RouterObserver]:
    """Observers for the scenario's `watch:` routers."""
    return [RouterObserver(inventory.named(Router, name)) for name in names]


def ssh_command(inventory: Any) -> SshCommand:
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
