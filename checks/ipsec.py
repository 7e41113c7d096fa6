"""IPsec checks on a router's observation (strongSwan or libreswan, one model).

The tunnels judged are ``expect.ipsec.tunnels`` (connection names); with none listed, every
configured connection is expected, so a configured connection with no SA is a FAIL naming it.
Targets are ``router/tunnel``; ``expected_targets`` names them from the inventory alone (the
pytest plugin makes one item of each). A connection the inventory does not list is not judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from holdtime.checks.kit import result, seconds_text, subtarget
from holdtime.checks.router_kit import RouterCheck, section_or_results
from holdtime.models import CheckResult, Status
from holdtime.plugins import Target, Threshold
from holdtime.probes.ipsec_model import ChildSa, IkeSa, IpsecStatus
from holdtime.probes.platforms import IPSEC_PLATFORMS
from holdtime.probes.router import DEFAULT_TRAFFIC_SAMPLE_SECONDS, RouterObservation
from holdtime.probes.router_config import Router

DEFAULT_REKEY_GRACE_SECONDS = 300.0


def _unevaluated(errors: Mapping[str, str], target: Target[Router]) -> dict[str, str]:
    """Section errors as `DEVICE: could not evaluate: line 7 of `ipsec status` not understood`."""
    device = f"{target.device or target.name}: "
    return {
        section: f"{device}could not evaluate: {message.removeprefix(device)}"
        for section, message in errors.items()
    }


def _listed_tunnels(target: Target[Router]) -> list[str]:
    return list(target.config.expect.ipsec.tunnels)


class _IpsecCheck(RouterCheck):
    """Common parts: applies to strongSwan/libreswan routers, reads the `ipsec` section."""

    reads: tuple[str, ...] = ("ipsec",)

    def applies_to(self, target: Target[Router]) -> bool:
        """Only routers with an IPsec platform."""
        return bool(set(target.config.platforms) & set(IPSEC_PLATFORMS))

    def expected_targets(self, target: Target[Router]) -> list[str]:
        """`router/TUNNEL` per tunnel in expect.ipsec.tunnels ([] when none is listed)."""
        return list(dict.fromkeys(subtarget(target, t) for t in _listed_tunnels(target)))

    def _status(
        self, target: Target[Router], obs: RouterObservation
    ) -> IpsecStatus | list[CheckResult]:
        """The IPsec status, or the one result that ends the check without it."""
        errors = _unevaluated(obs.errors, target)
        return section_or_results(
            self.name, target, errors, "ipsec", obs.ipsec, "IPsec was not read"
        )

    def _tunnels(self, target: Target[Router], status: IpsecStatus) -> list[str]:
        listed = _listed_tunnels(target)
        if listed:
            return listed
        names = [c.name for c in status.connections] + [sa.name for sa in status.ike_sas]
        return list(dict.fromkeys(names))

    def _missing(self, target: Target[Router], status: IpsecStatus, tunnel: str) -> CheckResult:
        configured = status.connection(tunnel) is not None
        return result(
            self.name,
            target,
            tunnel,
            Status.FAIL,
            f"{tunnel}: configured but no IKE SA"
            if configured
            else f"{tunnel}: no IKE SA (and no connection of that name is loaded)",
            observed={"ike_sas": 0, "configured": configured, "state": "absent"},
            expected={"ike_state": "established"},
            reasons=(
                f"connection {tunnel} has no SA: the tunnel is down",
                *(() if configured else ("the name is not in the loaded configuration",)),
            ),
        )


def _installed(sa: IkeSa) -> list[ChildSa]:
    return [c for c in sa.children if c.installed]


class IkeEstablishedCheck(_IpsecCheck):
    """Every expected tunnel has an established IKE SA."""

    name = "ipsec.ike_established"
    summary = "Every expected tunnel (connection) has an ESTABLISHED IKE SA."
    compares = (
        "`swanctl --list-sas` or `ipsec statusall` (strongSwan), `ipsec status` "
        "(libreswan) against expect.ipsec.tunnels "
        "(every configured connection when none listed)"
    )
    statuses = {
        "pass": "an IKE SA of that connection is established (age in the summary)",
        "fail": "no IKE SA (configured connection named), or it is not established",
        "error": "the IPsec status could not be read, or held a line not understood "
        "or a printed count that disagrees with what was read",
    }

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per tunnel."""
        status = self._status(target, observation)
        if isinstance(status, list):
            return status
        results = []
        for tunnel in self._tunnels(target, status):
            sas = status.sas_named(tunnel)
            if not sas:
                results.append(self._missing(target, status, tunnel))
                continue
            up = [sa for sa in sas if sa.established]
            observed = {
                "ike_sas": [f"{sa.unique_id} {sa.state}" for sa in sas],
                "remote_host": sas[0].remote_host,
                "state": (up[0] if up else sas[0]).state,
            }
            if up:
                sa = up[0]
                age = (
                    f" for {seconds_text(sa.established_seconds)}"
                    if sa.established_seconds is not None
                    else ""
                )
                where = f" ({sa.local_host} <-> {sa.remote_host})" if sa.remote_host else ""
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.PASS,
                        f"{tunnel}: IKE SA {sa.unique_id} {sa.state}{age}{where}",
                        observed={**observed, "established_seconds": sa.established_seconds},
                        expected={"ike_state": "established"},
                    )
                )
            else:
                states = ", ".join(f"{sa.unique_id} {sa.state}" for sa in sas)
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.FAIL,
                        f"{tunnel}: IKE SA not established ({states})",
                        observed=observed,
                        expected={"ike_state": "established"},
                        reasons=(f"IKE SA state: {states}",),
                    )
                )
        return results


class ChildInstalledCheck(_IpsecCheck):
    """Every expected tunnel has an installed CHILD SA under an established IKE SA."""

    name = "ipsec.child_installed"
    summary = (
        "Every expected tunnel has an installed CHILD SA (the data plane) under an "
        "established IKE SA."
    )
    compares = (
        "child SA state (strongSwan INSTALLED/REKEYING, libreswan ESTABLISHED_CHILD_SA) per tunnel"
    )
    statuses = {
        "pass": "at least one child SA installed (traffic selectors in the result)",
        "fail": "no installed child SA, or no IKE SA at all",
        "error": "the IPsec status could not be read",
    }

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per tunnel."""
        status = self._status(target, observation)
        if isinstance(status, list):
            return status
        results = []
        for tunnel in self._tunnels(target, status):
            sas = status.sas_named(tunnel)
            if not sas:
                results.append(self._missing(target, status, tunnel))
                continue
            children = [c for sa in sas if sa.established for c in _installed(sa)]
            every_child = [f"{c.unique_id} {c.state}" for sa in sas for c in sa.children]
            observed: dict[str, object] = {
                "child_sas": every_child,
                # one mapping per CHILD SA, for the exporter's holdtime_ipsec_child_sa_* families
                "children": [
                    {
                        "name": c.name,
                        "state": c.state,
                        "installed": c.installed,
                        "bytes_in": c.bytes_in,
                        "bytes_out": c.bytes_out,
                    }
                    for sa in sas
                    for c in sa.children
                ],
            }
            if children:
                child = children[0]
                observed.update(local_ts=list(child.local_ts), remote_ts=list(child.remote_ts))
                selectors = (
                    f" ({' '.join(child.local_ts)} === {' '.join(child.remote_ts)})"
                    if child.local_ts or child.remote_ts
                    else ""
                )
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.PASS,
                        f"{tunnel}: CHILD SA {child.name} {child.unique_id} {child.state}"
                        f"{selectors}",
                        observed=observed,
                        expected={"child_state": "installed"},
                    )
                )
                continue
            why = (
                f"child SAs present but none installed: {', '.join(every_child)}"
                if every_child
                else "the IKE SA has no CHILD SA (negotiation failed or it was deleted)"
            )
            if not any(sa.established for sa in sas):
                why = "no established IKE SA to carry a CHILD SA"
            results.append(
                result(
                    self.name,
                    target,
                    tunnel,
                    Status.FAIL,
                    f"{tunnel}: no installed CHILD SA",
                    observed=observed,
                    expected={"child_state": "installed"},
                    reasons=(why,),
                )
            )
        return results


def _counters(status: IpsecStatus, tunnel: str) -> dict[str, tuple[int | None, int | None]]:
    return {
        f"{sa.unique_id}/{c.unique_id}": (c.bytes_in, c.bytes_out)
        for sa in status.sas_named(tunnel)
        for c in _installed(sa)
    }


class TrafficFlowingCheck(_IpsecCheck):
    """Bytes increase on each tunnel's child SAs between two reads a few seconds apart."""

    name = "ipsec.traffic_flowing"
    reads = ("ipsec", "ipsec.traffic")
    summary = (
        "Traffic flows through each expected tunnel: the child SAs' byte counters "
        "grow between two reads."
    )
    compares = (
        "bytes in/out of installed child SAs in two reads "
        "HOLDTIME_TRAFFIC_SAMPLE_SECONDS apart (one SSH session)"
    )
    thresholds = (
        Threshold(
            "HOLDTIME_TRAFFIC_SAMPLE_SECONDS",
            DEFAULT_TRAFFIC_SAMPLE_SECONDS,
            "seconds",
            "interval between the two reads; 0 turns the second read off (SKIP)",
        ),
    )
    statuses = {
        "pass": "bytes in or out increased (deltas in the result)",
        "fail": "no byte moved in either direction during the interval",
        "skip": "sampling off, or the stack reports no byte counters",
        "error": "one of the two reads failed",
    }

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per tunnel."""
        status = self._status(target, observation)
        if isinstance(status, list):
            return status
        later = section_or_results(
            self.name,
            target,
            _unevaluated(observation.errors, target),
            "ipsec.later",
            observation.ipsec_later,
            "traffic sampling is off (HOLDTIME_TRAFFIC_SAMPLE_SECONDS=0)",
        )
        if isinstance(later, list):
            return later
        interval = observation.sample_interval_seconds
        results = []
        for tunnel in self._tunnels(target, status):
            before, after = _counters(status, tunnel), _counters(later, tunnel)
            if not before and not after:
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.FAIL,
                        f"{tunnel}: no installed CHILD SA, so no traffic",
                        reasons=("see ipsec.child_installed",),
                    )
                )
                continue
            # Counters a stack did not print are unknown, never zero: judge only children
            # whose counters both reads report (a child new in the second read counts whole).
            known = {
                key: (cin, cout)
                for key, (cin, cout) in after.items()
                if None not in (cin, cout, *before.get(key, (0, 0)))
            }
            if not known:
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.SKIP,
                        f"{tunnel}: the IPsec stack reports no byte counters",
                    )
                )
                continue
            # An SA rekeyed between the reads starts again from zero: count it whole.
            delta_in = sum(
                (cin or 0) - (before.get(key, (0, 0))[0] or 0) for key, (cin, _) in known.items()
            )
            delta_out = sum(
                (cout or 0) - (before.get(key, (0, 0))[1] or 0) for key, (_, cout) in known.items()
            )
            observed = {
                "bytes_in_delta": delta_in,
                "bytes_out_delta": delta_out,
                "interval_seconds": round(interval, 3),
            }
            if delta_in > 0 or delta_out > 0:
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.PASS,
                        f"{tunnel}: +{delta_in} B in, +{delta_out} B out in {interval:.1f} s",
                        observed=observed,
                        expected={"bytes_delta": "> 0"},
                    )
                )
                continue
            last = [
                f"last inbound {c.last_in_seconds} s ago"
                for sa in later.sas_named(tunnel)
                for c in _installed(sa)
                if c.last_in_seconds is not None
            ]
            results.append(
                result(
                    self.name,
                    target,
                    tunnel,
                    Status.FAIL,
                    f"{tunnel}: no traffic in {interval:.1f} s (bytes in and out unchanged)",
                    observed=observed,
                    expected={"bytes_delta": "> 0"},
                    reasons=(
                        "the child SA is installed but nothing crosses it: check routing "
                        "into the tunnel and the peer",
                        *last[:1],
                    ),
                )
            )
        return results


class RekeyOverdueCheck(_IpsecCheck):
    """No SA of an expected tunnel is older than its rekey interval plus a grace period."""

    name = "ipsec.rekey_overdue"
    summary = (
        "IKE and CHILD SAs rekey on time: none is older than its configured rekey "
        "interval plus a grace period, and none has a rekey time in the past."
    )
    compares = (
        "SA age (`established`/`installed Ns ago`) against `rekeying every Ns` "
        "from `swanctl --list-conns`; negative `rekeying in`/`REKEY in` times"
    )
    thresholds = (
        Threshold(
            "rekey_grace_seconds",
            DEFAULT_REKEY_GRACE_SECONDS,
            "seconds",
            "how long past its rekey interval an SA may live before it is overdue",
        ),
    )
    statuses = {
        "pass": "every SA is within its rekey schedule (next rekey in the summary)",
        "fail": "an SA is past its rekey time by more than the grace period",
        "error": "the IPsec status could not be read",
    }

    def evaluate(
        self, target: Target[Router], observation: RouterObservation
    ) -> Sequence[CheckResult]:
        """One result per tunnel; SKIP for a tunnel without SAs (ike_established fails it)."""
        status = self._status(target, observation)
        if isinstance(status, list):
            return status
        grace = DEFAULT_REKEY_GRACE_SECONDS
        results = []
        for tunnel in self._tunnels(target, status):
            sas = [sa for sa in status.sas_named(tunnel) if sa.established]
            if not sas:
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.SKIP,
                        f"{tunnel}: no established SA whose rekey could be judged "
                        "(ipsec.ike_established reports the tunnel)",
                    )
                )
                continue
            conn = status.connection(tunnel)
            child_rekey = {c.name: c.rekey_seconds for c in (conn.children if conn else ())}
            overdue: list[str] = []
            next_rekeys: list[int] = []
            for sa in sas:
                overdue += _overdue(
                    f"IKE SA {sa.unique_id}",
                    sa.established_seconds,
                    conn.rekey_seconds if conn else None,
                    sa.rekey_in_seconds,
                    grace,
                )
                if sa.rekey_in_seconds is not None:
                    next_rekeys.append(sa.rekey_in_seconds)
                for child in _installed(sa):
                    overdue += _overdue(
                        f"CHILD SA {child.name} {child.unique_id}",
                        child.installed_seconds,
                        child_rekey.get(child.name),
                        child.rekey_in_seconds,
                        grace,
                    )
                    if child.rekey_in_seconds is not None:
                        next_rekeys.append(child.rekey_in_seconds)
            observed = {"overdue": overdue, "next_rekey_in_seconds": min(next_rekeys, default=None)}
            expected = {"rekey_grace_seconds": grace}
            if overdue:
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.FAIL,
                        f"{tunnel}: rekey overdue ({overdue[0]})",
                        observed=observed,
                        expected=expected,
                        reasons=tuple(overdue),
                    )
                )
            else:
                upcoming = (
                    f"next rekey in {seconds_text(min(next_rekeys))}"
                    if next_rekeys
                    else "no rekey scheduled by the stack"
                )
                results.append(
                    result(
                        self.name,
                        target,
                        tunnel,
                        Status.PASS,
                        f"{tunnel}: rekeying on schedule ({upcoming})",
                        observed=observed,
                        expected=expected,
                    )
                )
        return results


def _overdue(
    what: str,
    age_seconds: int | None,
    interval_seconds: int | None,
    rekey_in_seconds: int | None,
    grace_seconds: float,
) -> list[str]:
    """Why one SA is overdue (empty list when it is not)."""
    if rekey_in_seconds is not None and rekey_in_seconds < -grace_seconds:
        return [f"{what} should have rekeyed {-rekey_in_seconds} s ago"]
    if (
        age_seconds is not None
        and interval_seconds
        and age_seconds > interval_seconds + grace_seconds
    ):
        return [
            f"{what} is {age_seconds} s old, rekey interval {interval_seconds} s "
            f"(+{grace_seconds:g} s grace)"
        ]
    return []
