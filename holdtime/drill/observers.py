"""Control-plane observers and SSH actions for drills, over the routers' verified SSH transport.

A RouterObserver keeps one SSH session to a watched router and, at each poll, reads the BGP
summary, the best path of every expected prefix and (for strongSwan routers) the SAs of each
vici socket. The engine diffs consecutive snapshots into timeline events such as
``vpc-router-1 bgp 10.10.10.2: Established -> Idle``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from typing import Any

from holdtime.drill.actions import SshCommand
from holdtime.errors import HoldtimeError, ParseError


class RouterObserver:
    """Polls one router's BGP neighbors, best paths and IPsec SAs."""

    def __init__(self, router: Any) -> None:
        self.router = router
        self.name = str(router.name)
        self._session: Any = None

    def _run(self, command: str) -> str:
        from holdtime.probes.ssh import SshParams, SshSession

        if self._session is None:
            self._session = SshSession(SshParams.from_router(self.router))
            self._session.connect()
        output = self._session.run(command, self.router.command_timeout_seconds)
        return str(output.stdout)

    def poll(self) -> Mapping[str, str]:
        """One snapshot: 'NAME bgp ADDR' -> state, 'NAME best_path PREFIX' -> next hop, ..."""
        from holdtime.probes import frr, ipsec

        snapshot: dict[str, str] = {}
        platforms = tuple(self.router.platforms)
        if "frr" in platforms:
            for peer in frr.parse_frr_bgp_summary_json(
                self._run("vtysh -c 'show bgp vrf all summary json'")
            ):
                snapshot[f"{self.name} bgp {peer.address}"] = peer.state
            for best in self.router.expect.bgp.best_paths:
                try:
                    route = frr.parse_frr_bgp_route_json(
                        self._run(f"vtysh -c 'show bgp ipv4 unicast {best.prefix} json'")
                    )
                    hops = [p.peer for p in route.paths if p.best]
                    snapshot[f"{self.name} best_path {best.prefix}"] = hops[0] if hops else "none"
                except ParseError:
                    snapshot[f"{self.name} best_path {best.prefix}"] = "none"
        if "strongswan" in platforms:
            uris = tuple(self.router.swanctl_uris) or ("",)
            for uri in uris:
                command = "swanctl --list-sas" + (f" --uri {shlex.quote(uri)}" if uri else "")
                text = self._run(command)
                sas = ipsec.parse_swanctl_list_sas(text) if text.strip() else ()
                for sa in sas:
                    child = "INSTALLED" if any(c.installed for c in sa.children) else "none"
                    snapshot[f"{self.name} ipsec {sa.name}"] = f"{sa.state}/{child}"
        return snapshot

    def close(self) -> None:
        """Close the SSH session."""
        if self._session is not None:
            self._session.close()
            self._session = None


def router_observers(inventory: Any, names: Sequence[str]) -> list[RouterObserver]:
    """Observers for the scenario's `watch:` routers."""
    return [RouterObserver(inventory.router(name)) for name in names]


def ssh_command(inventory: Any) -> SshCommand:
    """Runs a declared action on an inventory router over its verified SSH transport."""

    def run(device: str, command: str, timeout_seconds: float) -> Mapping[str, Any]:
        from holdtime.probes.ssh import SshParams, SshSession

        router = inventory.router(device)
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
