"""BGP checks on a router's FRR observation: sessions, prefixes, best paths, timers, BFD.

Each check judges the `router` probe's observation against ``expect.bgp`` of the router and
returns one result per neighbor or prefix (target ``router/10.10.10.2``,
``router/172.16.1.0/24``). With no neighbors listed, every configured neighbor is expected.
``expected_targets`` names those result targets from the inventory alone (the pytest plugin
makes one item of each); a result about the whole router (BGP unreadable, SKIP) has the
router's own name as target.
"""

from __future__ import annotations

from collections.abc import Sequence

from holdtime.checks.kit import default_of, no_data, result, seconds_text, subtarget
from holdtime.checks.router_kit import RouterCheck, section_error, section_or_results
from holdtime.drill.prediction import neighbor_path, silent_failure
from holdtime.errors import ParseError
from holdtime.models import CheckResult, Status, error_result
from holdtime.plugins import Target, Threshold
from holdtime.probes.bgp_model import BgpNeighbor, BgpPeer, BgpRoute, BgpState
from holdtime.probes.platforms import ROUTING_PLATFORMS
from holdtime.probes.router import RouterObservation
from holdtime.probes.router_config import BgpExpect, NeighborExpect, Router


def _bgp_expect(target: Target[Router]) -> BgpExpect:
    return target.config.expect.bgp


def _neighbor_targets(target: Target[Router], neighbors: Sequence[NeighborExpect]) -> list[str]:
    """`router/ADDRESS` of each neighbor, in inventory order, without repeats."""
    return list(dict.fromkeys(subtarget(target, n.address) for n in neighbors))


def _peer_label(peer: BgpPeer | BgpNeighbor | None, address: str) -> str:
    name = (peer.description or peer.hostname) if peer is not None else ""
    return f"{address} ({name})" if name else address


class _BgpCheck(RouterCheck):
    """Common parts: applies to FRR routers, reads the `bgp` section (BFD is read within it)."""

    reads = ("bgp",)

    def applies_to(self, target: Target[Router]) -> bool:
        """Only routers whose platforms include frr."""
        return bool(set(target.config.platforms) & set(ROUTING_PLATFORMS))

    def _state(
        self, target: Target[Router], obs: RouterObservation
    ) -> BgpState | list[CheckResult]:
        """The BGP state, or the one result that ends the check without it."""
        return section_or_results(
            self.name, target, obs.errors, "bgp", obs.bgp, "BGP was not read (platform frr off)"
        )

    def _addresses(self, target: Target[Router], state: BgpState) -> list[str]:
        listed = [n.address for n in _bgp_expect(target).neighbors]
        return listed or list(dict.fromkeys(p.address for p in state.peers))


class PeerEstablishedCheck(_BgpCheck):
    """Every expected neighbor is Established (with its uptime); unexpected ones are reported."""

    name = "bgp.peer_established"
    # A configured neighbor missing from expect.bgp.neighbors is a WARN of its own target.
    reports_unlisted_targets = True
    summary = "Every expected BGP neighbor is Established, with the expected remote AS."
    compares = (
        "`show bgp vrf all summary json` (or the text table) against "
        "expect.bgp.neighbors[address, remote_as]; all configured neighbors when none listed"
    )
    statuses = {
        "pass": "Established (uptime in the summary)",
        "fail": "not Established, wrong remote AS, or not configured at all",
        "warn": "a configured neighbor that the inventory does not expect, or one "
        "Established that exchanges no routes ((Policy) under RFC 8212, NoNeg)",
        "error": "the BGP summary could not be read",
    }

    def expected_targets(self, target: Target[Router]) -> list[str]:
        """`router/ADDRESS` per expected neighbor ([] when none is listed: all are expected)."""
        return _neighbor_targets(target, _bgp_expect(target).neighbors)

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per expected neighbor plus one per unexpected neighbor."""
        state = self._state(target, observation)
        if isinstance(state, list):
            return state
        expected = {n.address: n for n in _bgp_expect(target).neighbors}
        results = []
        for address in self._addresses(target, state):
            results.append(self._one(target, state, address, expected.get(address)))
        if expected:
            reported = set(expected)
            for peer in state.peers:
                if peer.address in reported:
                    continue
                reported.add(peer.address)
                results.append(
                    result(
                        self.name,
                        target,
                        peer.address,
                        Status.WARN,
                        f"unexpected neighbor {_peer_label(peer, peer.address)} "
                        f"(AS {peer.remote_as}, {peer.state}) is not in the inventory",
                        observed={"state": peer.state, "remote_as": peer.remote_as},
                        reasons=(
                            "configured on the router but not listed in expect.bgp.neighbors",
                        ),
                    )
                )
        return results

    def _one(
        self, target: Target[Router], state: BgpState, address: str, wanted: NeighborExpect | None
    ) -> CheckResult:
        peer = state.peer(address)
        remote_as = wanted.remote_as if wanted is not None else None
        expected: dict[str, object] = {"state": "Established"}
        if remote_as is not None:
            expected["remote_as"] = remote_as
        if peer is None:
            return result(
                self.name,
                target,
                address,
                Status.FAIL,
                f"neighbor {address} is not configured on the router",
                observed={"state": "not configured"},
                expected=expected,
                reasons=(f"{address} does not appear in `show bgp vrf all summary`",),
            )
        label = _peer_label(peer, address)
        detail = state.neighbor(address)
        observed: dict[str, object] = {
            "state": peer.state,
            "remote_as": peer.remote_as,
            "vrf": peer.vrf,
            "up_down_seconds": peer.up_down_seconds,
            # for the exporter's holdtime_bgp_peer_* families (exporters/domain_metrics.py)
            "uptime_seconds": peer.up_down_seconds if peer.established else None,
            "prefixes_received": peer.prefixes_received,
            "prefixes_sent": peer.prefixes_sent,
            "description": peer.description or (detail.description if detail else ""),
            "hold_time_seconds": detail.hold_time_seconds if detail else None,
        }
        if remote_as is not None and peer.remote_as != remote_as:
            return result(
                self.name,
                target,
                address,
                Status.FAIL,
                f"neighbor {label} has remote AS {peer.remote_as}, expected {remote_as}",
                observed=observed,
                expected=expected,
                reasons=("the session peers with a different AS than the inventory says",),
            )
        if peer.established and peer.held:
            why = (
                "eBGP without an inbound/outbound policy under `bgp ebgp-requires-policy` "
                "(RFC 8212)"
                if peer.held == "Policy"
                else "the address family was not negotiated"
            )
            return result(
                self.name,
                target,
                address,
                Status.WARN,
                f"neighbor {label} Established but exchanges no routes ({peer.held})",
                observed={**observed, "held": peer.held},
                expected=expected,
                reasons=(why,),
            )
        if peer.established:
            return result(
                self.name,
                target,
                address,
                Status.PASS,
                f"neighbor {label} Established for {seconds_text(peer.up_down_seconds)}",
                observed=observed,
                expected=expected,
            )
        reasons = [f"state {peer.state} for {seconds_text(peer.up_down_seconds)}"]
        detail = state.neighbor(address)
        if detail is not None and detail.last_reset_reason:
            reasons.append(f"last reset: {detail.last_reset_reason}")
        if detail is not None and detail.admin_shutdown:
            reasons.append("administratively shut down (neighbor ... shutdown)")
        return result(
            self.name,
            target,
            address,
            Status.FAIL,
            f"neighbor {label} is {peer.state}, not Established "
            f"(down for {seconds_text(peer.up_down_seconds)})",
            observed=observed,
            expected=expected,
            reasons=tuple(reasons),
        )


def _route_or_error(
    check: str, target: Target[Router], obs: RouterObservation, prefix: str, judged: str
) -> BgpRoute | CheckResult:
    """The route of `prefix`, or the ERROR/SKIP result of `router/judged` without it."""
    error = section_error(check, target, obs.errors, f"bgp.route {prefix}", suffix=judged)
    if error is not None:
        return error
    route = obs.bgp.routes.get(prefix) if obs.bgp is not None else None
    if route is None:
        return result(check, target, judged, Status.SKIP, f"{prefix} was not read")
    return route


class _PrefixListCheck(_BgpCheck):
    """Per expected neighbor: is each prefix it lists (`field`) on the wire in one direction?"""

    field = ""  # prefixes_received | prefixes_sent: the expected key listing the prefixes
    found_key = ""  # the observed key listing the prefixes that are there

    def _listed(self, neighbor: NeighborExpect) -> tuple[str, ...]:
        """The prefixes the inventory lists for this check on one neighbor."""
        raise NotImplementedError

    def _there(self, route: BgpRoute, address: str) -> bool:
        raise NotImplementedError

    def _summary(self, label: str, found: list[str], missing: list[str]) -> str:
        raise NotImplementedError

    def _reason(self, prefix: str, address: str) -> str:
        raise NotImplementedError

    def expected_targets(self, target: Target[Router]) -> list[str]:
        """`router/ADDRESS` per expected neighbor that lists prefixes for this check."""
        listed = [n for n in _bgp_expect(target).neighbors if self._listed(n)]
        return _neighbor_targets(target, listed)

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per expected neighbor that lists prefixes for this check."""
        state = self._state(target, observation)
        if isinstance(state, list):
            return state
        results: list[CheckResult] = []
        for wanted in _bgp_expect(target).neighbors:
            prefixes = self._listed(wanted)
            if prefixes:
                results.append(self._one(target, observation, state, wanted.address, prefixes))
        return results

    def _one(
        self,
        target: Target[Router],
        observation: RouterObservation,
        state: BgpState,
        address: str,
        prefixes: tuple[str, ...],
    ) -> CheckResult:
        found: list[str] = []
        missing: list[str] = []
        for prefix in prefixes:
            route = _route_or_error(self.name, target, observation, prefix, address)
            if isinstance(route, CheckResult):
                return route  # the first lookup that could not be read
            (found if self._there(route, address) else missing).append(prefix)
        label = _peer_label(state.peer(address), address)
        return result(
            self.name,
            target,
            address,
            Status.FAIL if missing else Status.PASS,
            self._summary(label, found, missing),
            observed={self.found_key: found, "missing": missing},
            expected={self.field: list(prefixes)},
            reasons=tuple(self._reason(p, address) for p in missing),
        )


class PrefixesReceivedCheck(_PrefixListCheck):
    """Each neighbor sends us at least the prefixes the inventory lists for it."""

    name = "bgp.prefixes_received"
    field = "prefixes_received"
    found_key = "received"
    summary = "Each neighbor advertises at least the expected prefixes to this router."
    compares = (
        "the paths of `show bgp ipv4 unicast PREFIX json` (which peer each path "
        "came from) against expect.bgp.neighbors[].prefixes_received"
    )
    statuses = {
        "pass": "a path for every expected prefix comes from that neighbor",
        "fail": "some expected prefix has no path from that neighbor",
        "error": "a prefix lookup could not be read",
    }

    def _listed(self, neighbor: NeighborExpect) -> tuple[str, ...]:
        return neighbor.prefixes_received

    def _there(self, route: BgpRoute, address: str) -> bool:
        return address in {p.peer for p in route.paths if p.valid}

    def _summary(self, label: str, found: list[str], missing: list[str]) -> str:
        if missing:
            return f"{label} does not send {', '.join(missing)}"
        return f"{label} sends {', '.join(found)}"

    def _reason(self, prefix: str, address: str) -> str:
        return f"no valid path for {prefix} from {address}"


class PrefixesSentCheck(_PrefixListCheck):
    """We advertise to each neighbor at least the prefixes the inventory lists for it."""

    name = "bgp.prefixes_sent"
    field = "prefixes_sent"
    found_key = "sent"
    summary = "This router advertises the expected prefixes to each neighbor."
    compares = (
        "`advertisedTo` of `show bgp ipv4 unicast PREFIX json` against "
        "expect.bgp.neighbors[].prefixes_sent"
    )
    statuses = {
        "pass": "every expected prefix is advertised to that neighbor",
        "fail": "some expected prefix is not advertised to it (or not in our table)",
        "error": "a prefix lookup could not be read",
    }

    def _listed(self, neighbor: NeighborExpect) -> tuple[str, ...]:
        return neighbor.prefixes_sent

    def _there(self, route: BgpRoute, address: str) -> bool:
        return address in route.advertised_to

    def _summary(self, label: str, found: list[str], missing: list[str]) -> str:
        if missing:
            return f"{', '.join(missing)} not advertised to {label}"
        return f"{', '.join(found)} advertised to {label}"

    def _reason(self, prefix: str, address: str) -> str:
        return f"{prefix} is not advertised to {address}"


class BestPathCheck(_BgpCheck):
    """The best path for an expected prefix goes via the expected neighbor."""

    name = "bgp.best_path"
    summary = (
        "The best path for each listed prefix goes via the expected neighbor "
        "(e.g. the weight-2 edge)."
    )
    compares = (
        "the `bestpath.overall` path of `show bgp ipv4 unicast PREFIX json` "
        "against expect.bgp.best_paths[prefix, via]"
    )
    statuses = {
        "pass": "the best path comes from `via`",
        "fail": "the best path comes from another neighbor (named) or there is none",
        "error": "the prefix lookup could not be read",
    }

    def expected_targets(self, target: Target[Router]) -> list[str]:
        """`router/PREFIX` per entry of expect.bgp.best_paths."""
        best_paths = _bgp_expect(target).best_paths
        return list(dict.fromkeys(subtarget(target, b.prefix) for b in best_paths))

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per expected best path."""
        state = self._state(target, observation)
        if isinstance(state, list):
            return state
        results: list[CheckResult] = []
        for wanted in _bgp_expect(target).best_paths:
            prefix, via = wanted.prefix, wanted.via
            route = _route_or_error(self.name, target, observation, prefix, prefix)
            if isinstance(route, CheckResult):
                results.append(route)
                continue
            best = route.best_path
            expected = {"prefix": prefix, "via": via}
            if best is None:
                results.append(
                    result(
                        self.name,
                        target,
                        prefix,
                        Status.FAIL,
                        f"{prefix} has no best path (not in the BGP table)",
                        observed={"best_via": None, "paths": len(route.paths)},
                        expected=expected,
                        reasons=(f"no neighbor advertises {prefix}",),
                    )
                )
                continue
            observed = {
                "best_via": best.peer,
                "nexthops": list(best.nexthops),
                "weight": best.weight,
                "selection_reason": best.selection_reason,
                "alternatives": [p.peer for p in route.paths if not p.best],
            }
            label = _peer_label(state.peer(best.peer), best.peer)
            if best.peer == via or via in best.nexthops:
                results.append(
                    result(
                        self.name,
                        target,
                        prefix,
                        Status.PASS,
                        f"best path for {prefix} via {label} ({best.selection_reason or 'best'})",
                        observed=observed,
                        expected=expected,
                    )
                )
                continue
            reasons = [f"best path now via {label}, selected by {best.selection_reason or '?'}"]
            if not any(p.peer == via for p in route.paths):
                reasons.append(f"{via} does not advertise {prefix} at all")
            results.append(
                result(
                    self.name,
                    target,
                    prefix,
                    Status.FAIL,
                    f"best path for {prefix} is via {label}, expected via {via}",
                    observed=observed,
                    expected=expected,
                    reasons=tuple(reasons),
                )
            )
        return results


class TimersCheck(_BgpCheck):
    """Hold time above the threshold with no BFD is a WARN: failover waits out the hold time."""

    name = "bgp.timers"
    summary = (
        "Negotiated BGP hold time is short enough, or BFD covers the session: a "
        "silent failure is detected only when the hold timer expires (the reference "
        "deployment's 118 s outage came from untuned 60/180 timers)."
    )
    compares = (
        "bgpTimerHoldTimeMsecs/KeepAlive and peerBfdInfo of "
        "`show bgp vrf all neighbors json` against expect.bgp.max_hold_time_seconds"
    )
    thresholds = (
        Threshold(
            "max_hold_time_seconds",
            default_of(BgpExpect, "max_hold_time_seconds"),
            "seconds",
            "hold time above this without BFD is a WARN",
        ),
    )
    statuses = {
        "pass": "hold time within the threshold, or BFD Up on the session",
        "warn": "hold time above the threshold and no working BFD: a silent failure fails over "
        "in up to the hold time + route install (the drill's prediction)",
        "error": "neighbor details unavailable (no JSON, or the command failed)",
    }

    def expected_targets(self, target: Target[Router]) -> list[str]:
        """`router/ADDRESS` per expected neighbor (one that is not configured has no result)."""
        return _neighbor_targets(target, _bgp_expect(target).neighbors)

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per expected (or configured) neighbor."""
        state = self._state(target, observation)
        if isinstance(state, list):
            return state
        error = section_error(self.name, target, observation.errors, "bgp.neighbors")
        if error is not None:
            return [error]
        limit = _bgp_expect(target).max_hold_time_seconds
        if state.source != "json":
            return no_data(
                self.name,
                target,
                "timers need `show bgp vrf all neighbors json` (this device has no JSON)",
            )
        results = []
        for address in self._addresses(target, state):
            neighbor = state.neighbor(address)
            if neighbor is None:
                continue  # bgp.peer_established reports a missing neighbor
            results.append(self._one(target, neighbor, limit))
        return results

    def _one(self, target: Target[Router], neighbor: BgpNeighbor, limit: float) -> CheckResult:
        hold, keepalive = neighbor.hold_time_seconds, neighbor.keepalive_seconds
        bfd_up = (neighbor.bfd_status or "").lower() == "up"
        label = _peer_label(neighbor, neighbor.address)
        observed = {
            "hold_time_seconds": hold,
            "keepalive_seconds": keepalive,
            "bfd_status": neighbor.bfd_status,
            "negotiated": neighbor.established,
        }
        expected = {"max_hold_time_seconds": limit, "or_bfd": True}
        if hold is None:
            # FRR always prints bgpTimerHoldTimeMsecs: without it nothing can be judged
            return error_result(
                self.name,
                subtarget(target, neighbor.address),
                ParseError(
                    f"{target.device}: `show bgp vrf all neighbors json` has no "
                    f"bgpTimerHoldTimeMsecs for {neighbor.address}: hold time unknown"
                ),
                device=target.device,
            )
        timers = f"keepalive {keepalive:g} s / hold {hold:g} s" if keepalive else f"hold {hold:g} s"
        if hold <= limit:
            return result(
                self.name,
                target,
                neighbor.address,
                Status.PASS,
                f"{label}: {timers} within {limit:g} s",
                observed=observed,
                expected=expected,
            )
        if bfd_up:
            return result(
                self.name,
                target,
                neighbor.address,
                Status.PASS,
                f"{label}: {timers} above {limit:g} s, but BFD is Up and detects failure",
                observed=observed,
                expected=expected,
            )
        bfd_note = (
            "no BFD configured"
            if neighbor.bfd_status is None
            else f"BFD configured but {neighbor.bfd_status}"
        )
        # The drill's prediction says the same number (holdtime.drill.prediction).
        _worst, basis, _by = silent_failure(neighbor_path(target.device, neighbor))
        return result(
            self.name,
            target,
            neighbor.address,
            Status.WARN,
            f"{label}: hold time {hold:g} s > {limit:g} s and {bfd_note}: a silent failure "
            f"fails over in up to {hold:g} s + route install",
            observed=observed,
            expected=expected,
            reasons=(
                f"{timers}; {bfd_note}",
                f"predicted outage of a silent failure: {basis}",
                "a peer that dies silently (no NOTIFICATION/FIN) is declared down only when "
                f"the hold timer ({hold:g} s) expires",
                "tune `timers bgp 3 9` (or lower) or enable BFD (`neighbor X bfd`)",
            ),
        )


def _bfd_configured(state: BgpState, address: str) -> bool:
    neighbor = state.neighbor(address)
    return neighbor is not None and neighbor.bfd_status is not None


class BfdPeerUpCheck(_BgpCheck):
    """BFD sessions are Up where configured (or for every neighbor when expect.bgp.bfd)."""

    name = "bgp.bfd_peer_up"
    summary = (
        "The BFD session of each neighbor with BFD is up; with expect.bgp.bfd: true "
        "every expected neighbor must have one."
    )
    compares = "`show bfd peers json` status (and peerBfdInfo of the neighbors JSON)"
    statuses = {
        "pass": "BFD session up",
        "fail": "BFD session down/init, or missing where expect.bgp.bfd is true",
        "skip": "no BFD configured and none expected",
        "error": "BFD state could not be read",
    }

    def expected_targets(self, target: Target[Router]) -> list[str]:
        """`router/ADDRESS` per expected neighbor, only when expect.bgp.bfd is true.

        Otherwise the results are for the neighbors that have BFD configured, which only the
        router knows: one item per router then.
        """
        if _bgp_expect(target).bfd is not True:
            return []
        return _neighbor_targets(target, _bgp_expect(target).neighbors)

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per neighbor with BFD (or expected to have it)."""
        state = self._state(target, observation)
        if isinstance(state, list):
            return state
        required = _bgp_expect(target).bfd is True
        sessions = {p.peer: p for p in state.bfd_peers or ()}
        addresses = self._addresses(target, state)
        configured = [a for a in addresses if a in sessions or _bfd_configured(state, a)]
        # A neighbor with BFD configured needs the BFD read: its peerBfdInfo alone is a partial
        # reading when `show bfd peers` could not be read or understood.
        if required or any(_bfd_configured(state, a) for a in addresses):
            error = section_error(self.name, target, observation.errors, "bfd")
            if error is not None:
                return [error]
        if not configured and not required:
            return no_data(
                self.name,
                target,
                "no BFD configured on the expected neighbors (and expect.bgp.bfd is not true)",
            )
        results = []
        for address in addresses if required else configured:
            session = sessions.get(address)
            neighbor = state.neighbor(address)
            status = session.status if session else (neighbor.bfd_status if neighbor else None)
            label = _peer_label(state.peer(address), address)
            observed: dict[str, object] = {"status": status}
            if session is not None:
                observed.update(
                    detect_multiplier=session.detect_multiplier,
                    receive_interval_ms=session.receive_interval_ms,
                    transmit_interval_ms=session.transmit_interval_ms,
                    diagnostic=session.diagnostic,
                )
            if status is None:
                results.append(
                    result(
                        self.name,
                        target,
                        address,
                        Status.FAIL,
                        f"{label} has no BFD session (expect.bgp.bfd is true)",
                        observed=observed,
                        expected={"status": "up"},
                        reasons=("configure `neighbor X bfd` and a `bfd` peer",),
                    )
                )
            elif status.lower() == "up":
                uptime = session.uptime_seconds if session else None
                results.append(
                    result(
                        self.name,
                        target,
                        address,
                        Status.PASS,
                        f"BFD with {label} up for {seconds_text(uptime)}",
                        observed=observed,
                        expected={"status": "up"},
                    )
                )
            else:
                why = session.diagnostic if session and session.diagnostic else status
                results.append(
                    result(
                        self.name,
                        target,
                        address,
                        Status.FAIL,
                        f"BFD with {label} is {status} ({why})",
                        observed=observed,
                        expected={"status": "up"},
                        reasons=(f"diagnostic: {why}",),
                    )
                )
        return results
