"""Probe plugin `router`: one SSH session per router per run, every allowlisted read, parsed.

For each router the probe opens one connection (probes/ssh.py), runs the read-only commands
of its platforms (probes/commands.py), parses them (probes/frr.py, probes/ipsec.py) and returns
one :class:`RouterObservation`. A command that fails or prints something unreadable marks only
its own section (``errors["bgp"]``, ``errors["ipsec"]``...) so the checks of the other sections
still run; a transport failure (unreachable, auth, host key) raises and the runner turns it
into ERROR results for that router only.

IPsec traffic needs two reads: when a router has IPsec and the sample interval is above zero,
the SAs are read a second time ``traffic_sample_seconds`` later (default 4 s, environment
variable ``HOLDTIME_TRAFFIC_SAMPLE_SECONDS``; 0 turns the second read off and
``ipsec.traffic_flowing`` reports SKIP).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from holdtime.errors import CommandTimeout, ConfigError, ParseError
from holdtime.plugins import Target
from holdtime.probes import commands, frr, ipsec
from holdtime.probes.ipsec import IpsecStatus
from holdtime.probes.router_config import ROUTERS, Router
from holdtime.probes.ssh import CommandOutput, SshParams, SshSession

if TYPE_CHECKING:
    from holdtime.inventory import Inventory


IPSEC_PLATFORMS = ("strongswan", "libreswan")
T = TypeVar("T")
# Longer than the lab's 3 s BGP keepalive: on an otherwise idle tunnel, keepalives are the only
# bytes, and a 2 s window missed them now and then (a false 'no traffic' after a drill).
DEFAULT_TRAFFIC_SAMPLE_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class BgpState:
    """Everything read from FRR: peers, neighbor details, the expected prefixes, BFD."""

    peers: tuple[frr.BgpPeer, ...]
    neighbors: tuple[frr.BgpNeighbor, ...] = ()
    routes: Mapping[str, frr.BgpRoute] = field(default_factory=dict)
    bfd_peers: tuple[frr.BfdPeer, ...] | None = None  # None: not read (see errors["bfd"])
    source: str = "json"  # "json" or "text" (the plain summary; no timers/BFD then)

    def peer(self, address: str) -> frr.BgpPeer | None:
        """The summary row of a neighbor (IPv4 unicast preferred)."""
        rows = [p for p in self.peers if p.address == address]
        rows.sort(key=lambda p: p.afi_safi != "ipv4Unicast")
        return rows[0] if rows else None

    def neighbor(self, address: str) -> frr.BgpNeighbor | None:
        """The detailed neighbor record, if `show bgp vrf all neighbors json` was read."""
        return next((n for n in self.neighbors if n.address == address), None)


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


def expected_prefixes(expect: Any) -> tuple[str, ...]:
    """Every prefix the BGP expectations mention (received, sent, best paths), in order."""
    bgp = getattr(expect, "bgp", None)
    prefixes: list[str] = []
    for neighbor in getattr(bgp, "neighbors", ()) or ():
        prefixes += list(getattr(neighbor, "prefixes_received", ()) or ())
        prefixes += list(getattr(neighbor, "prefixes_sent", ()) or ())
    prefixes += [b.prefix for b in getattr(bgp, "best_paths", ()) or ()]
    return tuple(dict.fromkeys(prefixes))


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


class CommandReader:
    """Runs allowlisted commands on one session and keeps the section errors.

    Shared by the probe and the pytest plugin's ``holdtime_router`` handle (both read through
    the same allowlist and parsers).
    """

    def __init__(self, session: SshSession, router: Any, device: str) -> None:
        self.session = session
        self.sudo = bool(getattr(router, "sudo", False))
        self.device = device
        self.errors: dict[str, str] = {}
        self.count = 0
        self._batched: dict[str, CommandOutput] = {}
        self.chosen: dict[str, str] = {}  # platform -> interface chosen by `auto` (strongSwan)

    def run(self, platform: str, text: str) -> CommandOutput:
        command = commands.build(platform, text, sudo=self.sudo, device=self.device)
        if platform == "frr" and command.text in self._batched:
            return self._batched.pop(command.text)
        self.count += 1
        return self.session.run(command.line)

    def prefetch_frr(self, texts: Sequence[str]) -> None:
        """Run several FRR commands in one vtysh; run() then answers them from that output.

        A command vtysh did not reach (it stops at the first failure) or an output that cannot
        be attributed is simply run on its own later, so the result never depends on batching.
        """
        unique = dict.fromkeys(map(commands.normalize, texts))
        wanted = [text for text in unique if text not in self._batched]
        if len(wanted) < 2:
            return
        batch = commands.build_vtysh_batch(wanted, sudo=self.sudo, device=self.device)
        self.count += 1
        out = self.session.run(batch.line)
        self._batched.update(attribute_vtysh_batch(out, wanted, sudo=self.sudo))

    def text(self, platform: str, command: str) -> str:
        """Output of a command that must exit 0 (ParseError naming the device otherwise)."""
        return self.checked(command, self.run(platform, command))

    def checked(self, command: str, out: CommandOutput) -> str:
        """stdout of a command that exited 0 (ParseError naming the device otherwise)."""
        if out.exit_status != 0:
            first = out.text.strip().splitlines()[0][:160] if out.text.strip() else "no output"
            raise ParseError(f"{self.device}: `{command}` exited {out.exit_status}: {first}")
        return out.stdout

    def section(self, name: str, func: Callable[[], Any]) -> Any:
        """Call func; a parse failure or a command timeout marks only this section."""
        try:
            return func()
        except (ParseError, CommandTimeout) as exc:
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if not message.startswith(self.device):
                message = f"{self.device}: {message}"
            self.errors[name] = message
            return None


def attribute_vtysh_batch(
    out: CommandOutput, texts: Sequence[str], *, sudo: bool = False
) -> dict[str, CommandOutput]:
    """Each batched command's own CommandOutput, as if it had run alone.

    Commands vtysh ran before the one that failed exit 0; the failing one gets the batch's exit
    status and stderr; commands it never reached are left out (they run on their own). Output
    that cannot be attributed (no echo lines: a vtysh without -E) gives nothing.
    """
    outputs = commands.split_vtysh_batch(out.stdout, texts)
    if out.exit_status == 0 and len(outputs) != len(texts):
        return {}
    attributed: dict[str, CommandOutput] = {}
    for index, (text, chunk) in enumerate(zip(texts, outputs, strict=False)):
        failed = out.exit_status != 0 and index == len(outputs) - 1
        attributed[commands.normalize(text)] = CommandOutput(
            command=commands.build("frr", text, sudo=sudo).line,
            stdout=chunk,
            stderr=out.stderr if failed else "",
            exit_status=out.exit_status if failed else 0,
            duration_seconds=out.duration_seconds,
        )
    return attributed


@dataclass(frozen=True, slots=True)
class _Needs:
    """Which sections the selected checks read (`holdtime check --only system.*` runs no vtysh)."""

    bgp: bool = True
    ipsec: bool = True
    traffic: bool = True
    system: bool = True

    @classmethod
    def of(cls, checks: Sequence[str]) -> _Needs:
        if not checks:
            return cls()
        return cls(
            bgp=any(c.startswith("bgp.") for c in checks),
            ipsec=any(c.startswith("ipsec.") for c in checks),
            traffic="ipsec.traffic_flowing" in checks,
            system=any(c.startswith("system.") for c in checks),
        )


class RouterProbe:
    """Probe plugin `router`: BGP (FRR), IPsec (strongSwan/libreswan), ip_forward over SSH."""

    name = "router"
    section = ROUTERS

    def __init__(
        self,
        traffic_sample_seconds: float | None = None,
        *,
        session_factory: Callable[[SshParams], SshSession] = SshSession,
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
            jump = str(getattr(router, "proxy_jump", "") or "")
            hops = 1 + (len(jump.split(",")) if jump else 0)
            ipsec_sample = (
                self.traffic_sample_seconds if set(router.platforms) & set(IPSEC_PLATFORMS) else 0.0
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
        """Read everything the router's platforms offer over one SSH connection."""
        router = target.config
        device = target.device or target.name
        platforms = tuple(getattr(router, "platforms", ("frr",)) or ("frr",))
        params = SshParams.from_router(router)
        with self._session_factory(params) as session:
            reader = CommandReader(session, router, device)
            first, later, interval = None, None, 0.0
            needs = _Needs.of(target.checks)
            wants_ipsec = needs.ipsec and bool(set(platforms) & set(IPSEC_PLATFORMS))
            # IPsec is read first so the BGP and sysctl reads fill the traffic sample interval
            # instead of adding to it.
            if wants_ipsec:
                first = reader.section("ipsec", lambda: read_ipsec(reader, router, platforms))
            began = time.monotonic()
            bgp = (
                reader.section("bgp", lambda: read_bgp(reader, router))
                if needs.bgp and "frr" in platforms
                else None
            )
            forward = (
                reader.section("system", lambda: read_ip_forward(reader)) if needs.system else None
            )
            if first is not None and needs.traffic and self.traffic_sample_seconds > 0:
                remaining = self.traffic_sample_seconds - (time.monotonic() - began)
                if remaining > 0:
                    self._sleep(remaining)
                later = reader.section(
                    "ipsec.later", lambda: read_ipsec(reader, router, platforms, again=True)
                )
                interval = time.monotonic() - began
        return RouterObservation(
            device=device,
            platforms=platforms,
            collected_at=dt.datetime.now(dt.UTC),
            bgp=bgp,
            ipsec=first,
            ipsec_later=later,
            sample_interval_seconds=interval,
            ip_forward=forward,
            errors=dict(reader.errors),
            commands_run=reader.count,
        )


# -- section readers (also used by the pytest plugin's holdtime_router handle) -------------
def read_bgp(reader: CommandReader, router: Any, extra_prefixes: Sequence[str] = ()) -> BgpState:
    """Summary (JSON, else text), neighbors, BFD and the routes of the expected prefixes.

    ``extra_prefixes`` adds routes to read besides the ones the router's expectations name.
    """
    wanted = (*expected_prefixes(getattr(router, "expect", None)), *extra_prefixes)
    prefixes = list(dict.fromkeys(wanted))
    reader.prefetch_frr(
        [
            "show bgp vrf all summary json",
            "show bgp vrf all neighbors json",
            *(f"show bgp ipv4 unicast {prefix} json" for prefix in prefixes),
            "show bfd peers json",  # last: vtysh stops at "bfdd is not running"
        ]
    )
    peers, source = json_or_text(
        reader,
        "show bgp vrf all summary json",
        frr.parse_frr_bgp_summary_json,
        "show bgp vrf all summary",
        frr.parse_frr_bgp_summary_text,
    )
    neighbors: tuple[frr.BgpNeighbor, ...] = ()
    if source == "json":
        neighbors = (
            reader.section(
                "bgp.neighbors",
                lambda: frr.parse_frr_bgp_neighbors_json(
                    reader.text("frr", "show bgp vrf all neighbors json")
                ),
            )
            or ()
        )
    routes: dict[str, frr.BgpRoute] = {}

    def route_of(prefix: str) -> frr.BgpRoute:
        text = reader.text("frr", f"show bgp ipv4 unicast {prefix} json")
        return frr.parse_frr_bgp_route_json(text)

    for prefix in prefixes:
        route = reader.section(f"bgp.route {prefix}", functools.partial(route_of, prefix))
        if route is not None:
            routes[prefix] = route if route.prefix else frr.BgpRoute(prefix, (), ())
    bfd_peers = reader.section("bfd", lambda: read_bfd(reader))
    return BgpState(
        peers=peers, neighbors=neighbors, routes=routes, bfd_peers=bfd_peers, source=source
    )


def json_or_text(
    reader: CommandReader,
    json_command: str,
    parse_json: Callable[[str], T],
    text_command: str,
    parse_text: Callable[[str], T],
) -> tuple[T, str]:
    """The JSON read, or the text read where vtysh gives no JSON: (value, "json" | "text").

    Only an answer that is not JSON at all (an FRR without `json` on that command: vtysh's
    `% Unknown command`) falls back to the text. A daemon that is not running, a failed command
    or a JSON output with something the parser does not understand is an error naming the
    device and the command: never a second reading that hides the first.
    """
    out = reader.run("frr", json_command)
    first = out.text.strip().splitlines()[0][:160] if out.text.strip() else "no output"
    if "is not running" in out.text:
        raise ParseError(f"{reader.device}: `{json_command}`: {first}")
    if out.exit_status == 0:
        try:
            return parse_json(out.stdout), "json"
        except ParseError as exc:
            if "not JSON" not in str(exc) and "vtysh answered" not in str(exc):
                detail = str(exc).split("`: ", 1)[-1] if str(exc).startswith("`") else str(exc)
                raise ParseError(f"{reader.device}: `{json_command}`: {detail}") from None
    elif not first.startswith("%"):
        raise ParseError(f"{reader.device}: `{json_command}` exited {out.exit_status}: {first}")
    return parse_text(reader.text("frr", text_command)), "text"


def read_bfd(reader: CommandReader) -> tuple[frr.BfdPeer, ...]:
    """`show bfd peers json`; the text `show bfd peers` where vtysh has no JSON for it."""
    peers, _ = json_or_text(
        reader,
        "show bfd peers json",
        frr.parse_frr_bfd_peers_json,
        "show bfd peers",
        frr.parse_frr_bfd_peers_text,
    )
    return peers


def read_ip_forward(reader: CommandReader) -> bool:
    """net.ipv4.ip_forward of the device."""
    return frr.parse_sysctl_ip_forward(reader.text("linux", "sysctl net.ipv4.ip_forward"))


def read_ipsec(
    reader: CommandReader, router: Any, platforms: tuple[str, ...], *, again: bool = False
) -> ipsec.IpsecStatus:
    """The SAs (and on the first read the configured connections) of every IPsec stack."""
    statuses: list[ipsec.IpsecStatus] = []
    if "strongswan" in platforms:
        statuses += read_strongswan(reader, router, again=again)
    if "libreswan" in platforms:
        status = ipsec.parse_libreswan_status(reader.text("libreswan", "ipsec status"))
        traffic = ipsec.parse_libreswan_trafficstatus(
            reader.text("libreswan", "ipsec trafficstatus")
        )
        statuses.append(ipsec.libreswan_status(status, traffic))
    return ipsec.merge(statuses)


# -- strongSwan: swanctl (vici) or the legacy stroke interface (`ipsec statusall`) -----------


def _swanctl_unavailable(out: CommandOutput) -> bool:
    """swanctl is not installed, or charon has no vici socket (a stroke-only 5.x starter)."""
    if out.exit_status == 0:
        return False
    if out.exit_status == 127 or "command not found" in out.text:
        return True
    # connecting to 'unix:///var/run/charon.vici' failed: No such file or directory
    return bool(re.search(r"connecting to '\S+' failed", out.text))


def read_strongswan(
    reader: CommandReader, router: Any, *, again: bool = False
) -> list[ipsec.IpsecStatus]:
    """strongSwan through the interface the inventory names (`ipsec_interface`), or auto.

    auto: swanctl when it answers; when it is missing or charon has no vici socket, the stroke
    `ipsec statusall` (strongSwan 5.x with the starter). The choice of the first read is kept
    for the second (traffic) read.
    """
    interface = str(getattr(router, "ipsec_interface", "auto") or "auto")
    uris: tuple[str | None, ...] = tuple(getattr(router, "swanctl_uris", ()) or ()) or (None,)
    if interface == "auto":
        interface = reader.chosen.get("strongswan", "")
    if interface == "stroke":
        return [_read_stroke(reader)]
    statuses: list[ipsec.IpsecStatus] = []
    for uri in uris:
        suffix = f" --uri {uri}" if uri else ""
        command = f"swanctl --list-sas{suffix}"
        out = reader.run("strongswan", command)
        if interface != "swanctl" and uri is None and _swanctl_unavailable(out):
            reader.chosen["strongswan"] = "stroke"
            first = out.text.strip().splitlines()[0][:120] if out.text.strip() else "no output"
            try:
                return [_read_stroke(reader)]
            except ParseError as exc:
                raise ParseError(
                    f"{reader.device}: `{command}` failed ({first}) and the stroke fallback "
                    f"too: {exc}"
                ) from None
        reader.chosen["strongswan"] = "swanctl"
        sas = ipsec.parse_swanctl_list_sas(reader.checked(command, out))
        conns: tuple[ipsec.ConnectionConfig, ...] = ()
        if not again:  # configuration does not change between the two reads
            conns = ipsec.parse_swanctl_list_conns(
                reader.text("strongswan", f"swanctl --list-conns{suffix}")
            )
        statuses.append(ipsec.IpsecStatus("strongswan", sas, conns))
    return statuses


def _read_stroke(reader: CommandReader) -> ipsec.IpsecStatus:
    """`ipsec statusall`: connections, SAs and counters in one read (also the second read)."""
    return ipsec.parse_stroke_statusall(reader.text("strongswan", "ipsec statusall"))
