"""Probe plugin `router`: one SSH session per router per run, every allowlisted read, parsed.

For each router the probe opens one connection (probes/ssh.py) and reads each of its platforms
through that platform's registered reader (probes/platforms.py: the read-only allowlist and the
reader that parses into the neutral models of probes/bgp_model.py and probes/ipsec_model.py),
returning one :class:`RouterObservation`. It reads only the sections the selected checks name in
their ``reads`` (``Target.reads``, filled by the runner: "bgp", "ipsec", "ipsec.traffic",
"system"; empty reads everything), so ``holdtime check --only system.*`` runs no vtysh.

A command that fails or prints something unreadable marks only
its own section (``errors["bgp"]``, ``errors["ipsec"]``...) so the checks of the other sections
still run; a transport failure (unreachable, auth, host key) raises and the runner turns it
into ERROR results for that router only.

IPsec traffic needs two reads: when a router has IPsec and the sample interval is above zero,
the SAs are read a second time ``traffic_sample_seconds`` later (default 4 s, environment
variable ``HOLDTIME_TRAFFIC_SAMPLE_SECONDS``; 0 turns the second read off and
``ipsec.traffic_flowing`` reports SKIP).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from holdtime.errors import ConfigError
from holdtime.plugins import Deferred, Target, complete
from holdtime.probes import platforms
from holdtime.probes.bgp_model import BgpState
from holdtime.probes.ipsec_model import IpsecStatus, merge
from holdtime.probes.router_config import ROUTERS, Router

if TYPE_CHECKING:  # the SSH transport is imported when a router is read, not on inventory load
    from holdtime.inventory import Inventory
    from holdtime.probes.command_reader import CommandReader
    from holdtime.probes.ssh import SshParams, SshSession


READS = frozenset({"bgp", "ipsec", "ipsec.traffic", "system"})
"""What a router check may name in its ``reads`` (``ipsec.traffic``: the second SA read)."""
# Longer than the lab's 3 s BGP keepalive: on an otherwise idle tunnel, keepalives are the only
# bytes, and a 2 s window missed them now and then (a false 'no traffic' after a drill).
DEFAULT_TRAFFIC_SAMPLE_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class RouterObservation:
    """One router's state as read in one run."""

    device: str
    platforms: tuple[str, ...]
    collected_at: dt.datetime
    bgp: BgpState | None = None
    ipsec: IpsecStatus | None = None
    ipsec_later: IpsecStatus | None = None  # second read, for traffic deltas
    sample_interval_seconds: float = 0.0
    ip_forward: bool | None = None
    errors: Mapping[str, str] = field(default_factory=dict)  # section -> one-line message
    commands_run: int = 0


def _sample_seconds_from_env() -> float:
    raw = os.environ.get("HOLDTIME_TRAFFIC_SAMPLE_SECONDS")
    if raw is None or not raw.strip():
        return DEFAULT_TRAFFIC_SAMPLE_SECONDS
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"HOLDTIME_TRAFFIC_SAMPLE_SECONDS={raw!r} is not a number") from None
    if not 0 <= value <= 60:
        raise ConfigError(f"HOLDTIME_TRAFFIC_SAMPLE_SECONDS={raw!r} must be within 0..60")
    return value


class RouterProbe:
    """Probe plugin `router`: BGP (FRR), IPsec (strongSwan/libreswan), ip_forward over SSH."""

    name = "router"
    section = ROUTERS

    def __init__(
        self,
        traffic_sample_seconds: float | None = None,
        *,
        session_factory: Callable[[SshParams], SshSession] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.traffic_sample_seconds = (
            _sample_seconds_from_env() if traffic_sample_seconds is None else traffic_sample_seconds
        )
        self._session_factory = session_factory
        self._sleep = sleep

    def targets(self, inventory: Inventory) -> Sequence[Target[Router]]:
        """One Target per router; its deadline covers connect, every command and the sample."""
        targets = []
        for router in inventory.of(Router):
            jump = router.proxy_jump or ""
            hops = 1 + (len(jump.split(",")) if jump else 0)
            ipsec_sample = (
                self.traffic_sample_seconds if platforms.of_kind(router.platforms, "ipsec") else 0.0
            )
            deadline = (
                router.connect_timeout_seconds * hops
                + router.command_timeout_seconds * 3
                + ipsec_sample
                + 5.0
            )
            targets.append(
                Target(
                    name=router.name,
                    device=router.name,
                    config=router,
                    timeout_seconds=deadline,
                )
            )
        return targets

    def collect(self, target: Target[Router], timeout_seconds: float) -> RouterObservation:
        """Read what the selected checks need of the router's platforms over one SSH connection.

        Blocking: the traffic sample waits in this thread (see :meth:`begin` for the runner's).
        """
        return cast(
            "RouterObservation", complete(self.begin(target, timeout_seconds), sleep=self._sleep)
        )

    def begin(self, target: Target[Router], timeout_seconds: float) -> RouterObservation | Deferred:
        """Every read up to the traffic sample; then a Deferred holding the open session.

        The Deferred's ``resume`` reads the SAs the second time and closes the session; its
        ``close`` only closes it. Without a sample the observation comes back at once.
        A subclass (or a test) that replaces :meth:`collect` is honoured: begin calls it.
        """
        if type(self).collect is not _BLOCKING_COLLECT:
            return self.collect(target, timeout_seconds)
        router = target.config
        device = target.device or target.name
        reads = target.reads or READS
        if reads - READS:  # a check declaring a section this probe does not have: never silent
            unknown = ", ".join(sorted(reads - READS))
            raise ConfigError(
                f"{device}: the selected checks read {unknown}, which the router probe does not "
                f"offer ({', '.join(sorted(READS))})"
            )
        wants_ipsec = bool({"ipsec", "ipsec.traffic"} & reads) and bool(
            platforms.of_kind(router.platforms, "ipsec")
        )
        wants_bgp = "bgp" in reads and bool(platforms.of_kind(router.platforms, "routing"))
        from holdtime.probes.command_reader import CommandReader
        from holdtime.probes.ssh import SshParams

        with contextlib.ExitStack() as stack:
            session = stack.enter_context(self._factory()(SshParams.from_router(router)))
            reader = CommandReader(session, router, device)
            first: IpsecStatus | None = None
            # IPsec is read first so the BGP and sysctl reads fill the traffic sample interval
            # instead of adding to it.
            if wants_ipsec:
                first = reader.section("ipsec", lambda: read_ipsec(reader, router))
            began = time.monotonic()
            bgp = reader.section("bgp", lambda: read_bgp(reader, router)) if wants_bgp else None
            forward = (
                reader.section("system", lambda: read_ip_forward(reader))
                if "system" in reads
                else None
            )
            read = _Read(device, router, reader, first, bgp, forward)
            if first is None or "ipsec.traffic" not in reads or self.traffic_sample_seconds <= 0:
                return read.observation()
            held = stack.pop_all()  # the session stays open for the second read
        return Deferred(
            resume_at=began + self.traffic_sample_seconds,
            resume=functools.partial(_second_read, read, held, began),
            close=_Closer(held).close,
        )

    def _factory(self) -> Callable[[SshParams], SshSession]:
        if self._session_factory is not None:
            return self._session_factory
        from holdtime.probes.ssh import SshSession

        return SshSession


_BLOCKING_COLLECT = RouterProbe.collect


@dataclass(slots=True)
class _Read:
    """What one collection read so far (the second SA read comes later)."""

    device: str
    router: Router
    reader: CommandReader
    first: IpsecStatus | None
    bgp: BgpState | None
    forward: bool | None

    def observation(
        self, later: IpsecStatus | None = None, interval: float = 0.0
    ) -> RouterObservation:
        return RouterObservation(
            device=self.device,
            platforms=self.router.platforms,
            collected_at=dt.datetime.now(dt.UTC),
            bgp=self.bgp,
            ipsec=self.first,
            ipsec_later=later,
            sample_interval_seconds=interval,
            ip_forward=self.forward,
            errors=dict(self.reader.errors),
            commands_run=self.reader.count,
        )


class _Closer:
    """Close the held session once, from whichever thread gets there first."""

    def __init__(self, held: contextlib.ExitStack) -> None:
        self._held: contextlib.ExitStack | None = held
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            held, self._held = self._held, None
        if held is not None:
            held.close()


def _second_read(read: _Read, held: contextlib.ExitStack, began: float) -> RouterObservation:
    """The traffic sample's second SA read, on the session the first reads used, then close it."""
    with held:
        reader, router = read.reader, read.router
        later = reader.section("ipsec.later", lambda: read_ipsec(reader, router, again=True))
        return read.observation(later, time.monotonic() - began)


# -- one router's sections, each through its platforms' registered readers ------------------
# (also used by the drill observers and the pytest plugin's holdtime_router handle)
def read_bgp(
    reader: CommandReader, router: Router, prefixes: Sequence[str] = (), *, detail: bool = True
) -> BgpState:
    """BGP/BFD through the router's routing platform (the first one its `platform:` lists).

    ConfigError naming the device when the router lists no routing platform.
    """
    routing = platforms.of_kind(router.platforms, "routing")
    if not routing:
        raise ConfigError(
            f"{reader.device}: no routing platform on this router "
            f"(platform: {', '.join(router.platforms)})"
        )
    return platforms.routing_reader(routing[0])(reader, router, prefixes, detail=detail)


def read_ipsec(reader: CommandReader, router: Router, *, again: bool = False) -> IpsecStatus:
    """The SAs (and on the first read the configured connections) of every IPsec platform."""
    return merge(
        platforms.ipsec_reader(name)(reader, router, again=again)
        for name in platforms.of_kind(router.platforms, "ipsec")
    )


def read_ip_forward(reader: CommandReader) -> bool:
    """net.ipv4.ip_forward of the device (the `linux` host every router is)."""
    return platforms.system_reader()(reader)
