"""Live device handles for hand-written pytest acceptance tests (holdtime_router, holdtime_vcenter).

A handle is one connection to one inventory device, opened on first use and kept for the pytest
session (per xdist worker): ``holdtime_router("vpc-router-1").bgp()`` reads and parses through
the same allowlist and parsers as the ``router`` probe, so a hand-written test sees exactly what
``holdtime check`` sees. Errors raised by a handle are HoldtimeErrors marked for a one-line
pytest report (see :func:`mark_one_line`).
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar

from holdtime.errors import CommandRefused, ConfigError, HoldtimeError, ParseError
from holdtime.probes.router_config import Router
from holdtime.probes.vsphere_config import VCenter

if TYPE_CHECKING:
    from pathlib import Path

    from holdtime.drill.result import DrillResult
    from holdtime.inventory import Inventory
    from holdtime.probes.bgp_model import BgpRoute, BgpState
    from holdtime.probes.ipsec_model import IpsecStatus
    from holdtime.probes.platforms import Kind
    from holdtime.probes.ssh import SshSession
    from holdtime.probes.vsphere import Session
    from holdtime.probes.vsphere_model import VsphereObservation

log = logging.getLogger("holdtime.pytest")

ONE_LINE = "_holdtime_one_line"  # attribute set on exceptions a pytest report shows as one line

P = ParamSpec("P")
R = TypeVar("R")
H = TypeVar("H", bound="_Closable")


def mark_one_line(exc: HoldtimeError) -> HoldtimeError:
    """Flag an exception so the plugin reports it as one line instead of a traceback."""
    setattr(exc, ONE_LINE, True)
    return exc


def _one_line_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: HoldtimeErrors leaving a handle method are flagged for a one-line report."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except HoldtimeError as exc:
            raise mark_one_line(exc) from exc.__cause__

    return wrapper


class RouterHandle:
    """A connected SSH session to one inventory router, with parsed read-only helpers."""

    def __init__(self, router: Router, session: SshSession) -> None:
        from holdtime.probes.command_reader import CommandReader

        self.router = router
        self.name = router.name
        self.session = session
        self.platforms = tuple(router.platforms)
        self._reader = CommandReader(session, router, router.name)
        # Sections of the last read that could not be read (e.g. "bfd" without bfdd), as the
        # probe reports them: device-prefixed one-line messages.
        self.errors: dict[str, str] = {}

    def _need(self, kind: Kind, what: str) -> str:
        """The router's first platform of `kind` (ConfigError naming the router if none)."""
        from holdtime.probes.platforms import of_kind

        found = of_kind(self.platforms, kind)
        if not found:
            raise ConfigError(
                f"{self.name}: no {what} on this router (platform: {', '.join(self.platforms)})"
            )
        return found[0]

    @_one_line_errors
    def bgp(self, prefixes: tuple[str, ...] | list[str] = ()) -> BgpState:
        """Peers, neighbor details, BFD and the routes of the expected (and given) prefixes."""
        from holdtime.probes.router import read_bgp

        self._need("routing", "routing platform")
        self._reader.errors.clear()
        state = read_bgp(self._reader, self.router, tuple(prefixes))
        self.errors = dict(self._reader.errors)
        return state

    @_one_line_errors
    def route(self, prefix: str) -> BgpRoute:
        """The BGP table entry of one prefix (no paths when the prefix is not in the table)."""
        from holdtime.probes.router import read_bgp

        self._need("routing", "routing platform")
        self._reader.errors.clear()
        state = read_bgp(self._reader, self.router, (prefix,), detail=False)
        if prefix not in state.routes:
            raise ParseError(
                self._reader.errors.get(f"bgp.route {prefix}", f"{self.name}: {prefix} not read")
            )
        return state.routes[prefix]

    @_one_line_errors
    def ipsec(self) -> IpsecStatus:
        """SAs and configured connections of every IPsec stack on the router."""
        from holdtime.probes.router import read_ipsec

        self._need("ipsec", "IPsec stack")
        return read_ipsec(self._reader, self.router)

    @_one_line_errors
    def ip_forward(self) -> bool:
        """net.ipv4.ip_forward."""
        from holdtime.probes.router import read_ip_forward

        return read_ip_forward(self._reader)

    @_one_line_errors
    def run(self, command: str, platform: str | None = None) -> str:
        """stdout of an allowlisted read-only command; anything else is refused, never sent."""
        from holdtime.probes import commands

        candidates = (platform,) if platform else (*self.platforms, "linux")  # linux: the host
        chosen = next((p for p in candidates if commands.is_allowed(p, command)), None)
        if chosen is None:
            if platform:
                commands.build(platform, command, device=self.name)  # raises with the reason
            raise CommandRefused(
                f"{self.name}: {commands.normalize(command)!r} is not on the read-only "
                f"allowlist of {', '.join(candidates)}"
            )
        return self._reader.text(chosen, command)

    def close(self) -> None:
        """Close the SSH connection."""
        self.session.close()

    def __repr__(self) -> str:
        return f"<RouterHandle {self.name} connected={self.session.connected}>"


class VcenterHandle:
    """A logged-in pyVmomi session to one inventory vCenter, with the probe's observation."""

    def __init__(self, vcenter: VCenter, session: Session) -> None:
        self.vcenter = vcenter
        self.name = vcenter.name
        self.session = session

    @property
    def content(self) -> Any:
        """The pyVmomi ServiceContent, for reads holdtime has no helper for."""
        return self.session.content

    @_one_line_errors
    def observe(self) -> VsphereObservation:
        """Datastores, hosts, switches and portgroups in one PropertyCollector pass."""
        from holdtime.probes.vsphere import observe

        return observe(self.session)

    @_one_line_errors
    def retrieve(self, properties: dict[str, tuple[str, ...]]) -> list[Any]:
        """Raw ObjectContents: ``{"HostSystem": ("name",)}`` for every object of those types."""
        return self.session.retrieve(properties)

    def close(self) -> None:
        """Log out and drop the HTTP connections."""
        self.session.__exit__(None, None, None)

    def __repr__(self) -> str:
        return f"<VcenterHandle {self.name}>"


class _Closable(Protocol):
    def close(self) -> None: ...


class HandleCache(Generic[H]):
    """One handle per device name, opened on first request, all closed by :meth:`close_all`."""

    def __init__(self, opener: Callable[[str], H]) -> None:
        self._opener = opener
        self._handles: dict[str, H] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> H:
        """The open handle for a device (opened now if it is the first request)."""
        with self._lock:
            if name not in self._handles:
                self._handles[name] = self._opener(name)
            return self._handles[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._handles))

    def close_all(self) -> None:
        """Close every handle; a failing close never hides the others."""
        with self._lock:
            handles, self._handles = list(self._handles.values()), {}
        for handle in handles:
            try:
                handle.close()
            except Exception as exc:  # closing must never mask a test outcome
                log.debug("closing %r failed: %s", handle, exc)


@_one_line_errors
def open_router(inventory: Inventory, name: str) -> RouterHandle:
    """Connect to the inventory router `name` (ConfigError naming the inventory if unknown)."""
    from holdtime.probes.ssh import SshParams, SshSession

    router = inventory.named(Router, name)
    session = SshSession(SshParams.from_router(router))
    session.connect()
    return RouterHandle(router, session)


@_one_line_errors
def open_vcenter(inventory: Inventory, name: str, timeout_seconds: float = 30.0) -> VcenterHandle:
    """Log in to the inventory vCenter `name`."""
    from holdtime.probes.vsphere import Session

    vcenter = inventory.named(VCenter, name)
    session = Session(vcenter, timeout_seconds)
    try:
        session.__enter__()
    except BaseException:
        session.stub.DropConnections()
        raise
    return VcenterHandle(vcenter, session)


@_one_line_errors
def run_drill(inventory: Inventory, scenario_name: str, journal_path: Path) -> DrillResult:
    """Run one drill of the inventory as `holdtime drill` does; returns its DrillResult."""
    from holdtime.drill.scenario import scenario as find_scenario
    from holdtime.drill.wiring import run_inventory_drill

    return run_inventory_drill(inventory, find_scenario(inventory, scenario_name), journal_path)
