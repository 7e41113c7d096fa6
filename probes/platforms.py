"""The platforms holdtime reads on a router, each registered once, by name.

A platform is a software stack on a router that an inventory lists under ``platform:``. Its one
entry below gives:

- ``name``: the word in the inventory (``frr``);
- ``kind``: what it reads. ``routing``: BGP/BFD, its reader returns a
  :class:`holdtime.probes.bgp_model.BgpState`; ``ipsec``: its reader returns a
  :class:`holdtime.probes.ipsec_model.IpsecStatus`. The checks only ever see those models;
- ``allowlist``: the read-only commands holdtime may run, regexes matched whole
  (``re.fullmatch``) on the logical command, single-spaced. Arguments a pattern accepts are
  validated by the pattern itself (an IP prefix, a ``unix://`` vici URI), so nothing a user puts
  in an inventory can smuggle a shell metacharacter or a configuration command into a session;
- ``via``: the program a logical command is handed to as one quoted argument
  (``vtysh -c``), or "" when the logical command is the shell line itself;
- ``reader``: ``"module:function"``, the function that reads the platform's section through a
  :class:`holdtime.probes.command_reader.CommandReader` (its signature is
  :class:`RoutingReader` or :class:`IpsecReader`). It is imported on first use, so importing
  this registry costs nothing: the inventory imports it for its ``platform:`` choices.

**Adding a platform** (VyOS, Junos): write one module, ``probes/<name>_reader.py``, with its
parsers (pure ``parse_<tool>_<command>`` functions, tests on recorded output) and its reader
function, and add one ``Platform(...)`` entry below. Nothing else changes: the router probe, the
drill observers and the pytest ``holdtime_router`` handle find the reader here, the command
builder finds the allowlist here, and the checks judge the neutral model.

``linux`` is the host every router is (``sysctl``, the router's own ``ping``): its commands are
allowlisted here too, but it is not a ``platform:`` choice.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, cast

from holdtime.errors import ConfigError

if TYPE_CHECKING:
    from holdtime.probes.bgp_model import BgpState
    from holdtime.probes.command_reader import CommandReader
    from holdtime.probes.ipsec_model import IpsecStatus
    from holdtime.probes.router_config import Router

Kind = Literal["routing", "ipsec", "system"]


class RoutingReader(Protocol):
    """Reads a routing platform's BGP/BFD through a CommandReader.

    ``prefixes``: routes to read besides the ones the router's expectations name.
    ``detail=False`` reads only the summary and the routes (what a drill polls every second):
    no neighbor details, no BFD.
    """

    def __call__(
        self,
        reader: CommandReader,
        router: Router,
        prefixes: Sequence[str] = (),
        *,
        detail: bool = True,
    ) -> BgpState: ...


class IpsecReader(Protocol):
    """Reads an IPsec platform's SAs (and, unless ``again``, its configured connections).

    ``again`` is the second read of a traffic sample: SAs and counters only.
    """

    def __call__(
        self, reader: CommandReader, router: Router, *, again: bool = False
    ) -> IpsecStatus: ...


class SystemReader(Protocol):
    """Reads the host's own state (``linux``: net.ipv4.ip_forward)."""

    def __call__(self, reader: CommandReader) -> bool: ...


@dataclass(frozen=True, slots=True)
class Platform:
    """One platform: its kind, its read-only allowlist, how commands reach it, its reader."""

    name: str
    kind: Kind
    allowlist: tuple[str, ...]
    reader: str  # "module:function" under holdtime.probes, imported on first use
    via: str = ""  # "vtysh -c": the logical command is its one (quoted) argument

    def load_reader(self) -> Callable[..., object]:
        """The reader function (imported now, once)."""
        return _load(self.reader)


# 172.16.1.0/24, 2001:db8::/32
_PREFIX = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}/[0-9]{1,2}|[0-9a-fA-F:]{2,39}/[0-9]{1,3}"
# unix:///run/charon-esg1/charon.vici
_VICI_URI = r"unix:///[A-Za-z0-9_./-]+"
# 172.16.1.10, 2001:db8::10
_ADDRESS = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9a-fA-F:]{2,39}"
# db.example.net (never starts with "-": it could be read as an option)
_HOST = rf"{_ADDRESS}|[A-Za-z0-9][A-Za-z0-9.-]{{0,252}}"
# ping -D -O -i 0.2 -W 1 -w 1200 -I 192.168.1.1 172.16.1.10   (holdtime.probes.router_ping)
_ROUTER_PING = (
    r"ping -D -O -i (?:[0-9]{1,2}(?:\.[0-9]{1,3})?) -W [0-9]{1,2} -w [0-9]{1,6}"
    rf"(?: -I (?:{_ADDRESS}))? (?:{_HOST})"
)

_REGISTRY: tuple[Platform, ...] = (
    Platform(
        name="frr",
        kind="routing",
        allowlist=(
            r"show bgp vrf all summary( json)?",
            # the single-family spellings an operator may prefer (issue 12)
            r"show (?:ip )?bgp(?: vrf all)?(?: (?:ipv4|ipv6)(?: unicast)?)? summary( json)?",
            r"show bgp vrf all neighbors( json)?",
            r"show (?:ip )?bgp neighbors( json)?",
            rf"show bgp ipv4 unicast (?:{_PREFIX})( json)?",
            r"show bfd peers( json)?",
            r"show version",
        ),
        reader="frr_reader:read_frr",
        via="vtysh -c",
    ),
    Platform(
        name="strongswan",
        kind="ipsec",
        allowlist=(
            rf"swanctl --list-sas( --uri {_VICI_URI})?",
            rf"swanctl --list-conns( --uri {_VICI_URI})?",
            r"swanctl --version",
            # the legacy stroke interface (strongSwan 5.x with the starter)
            r"ipsec (?:statusall|status|version)",
        ),
        reader="strongswan_reader:read_strongswan",
    ),
    Platform(
        name="libreswan",
        kind="ipsec",
        allowlist=(
            r"ipsec (?:status|trafficstatus|showstates|briefstatus)",
            r"ipsec auto --status",
            r"ipsec whack --(?:status|showstates|trafficstatus|briefstatus)",
            r"ipsec --version",
        ),
        reader="libreswan_reader:read_libreswan",
    ),
    Platform(
        name="linux",
        kind="system",
        allowlist=(r"sysctl (?:-n )?net\.ipv4\.ip_forward", _ROUTER_PING),
        reader="linux_reader:read_ip_forward",
    ),
)

PLATFORMS: Mapping[str, Platform] = {p.name: p for p in _REGISTRY}
"""Every registered platform by name, ``linux`` (the host) included."""

PLATFORM_NAMES: tuple[str, ...] = tuple(p.name for p in _REGISTRY if p.kind != "system")
"""What an inventory may list under ``platform:``."""

ROUTING_PLATFORMS: tuple[str, ...] = tuple(p.name for p in _REGISTRY if p.kind == "routing")
IPSEC_PLATFORMS: tuple[str, ...] = tuple(p.name for p in _REGISTRY if p.kind == "ipsec")


def platform(name: str, device: str = "") -> Platform:
    """The registered platform `name`; ConfigError naming the device and the known ones."""
    found = PLATFORMS.get(name)
    if found is None:
        known = ", ".join(PLATFORMS)
        raise ConfigError(f"{device or 'holdtime'}: unknown platform {name!r} ({known})")
    return found


def routing_reader(name: str) -> RoutingReader:
    """The reader of the routing platform `name`."""
    return cast("RoutingReader", _of_kind(name, "routing").load_reader())


def ipsec_reader(name: str) -> IpsecReader:
    """The reader of the IPsec platform `name`."""
    return cast("IpsecReader", _of_kind(name, "ipsec").load_reader())


def system_reader(name: str = "linux") -> SystemReader:
    """The reader of the host platform (``linux``)."""
    return cast("SystemReader", _of_kind(name, "system").load_reader())


def of_kind(platforms: Sequence[str], kind: Kind) -> tuple[str, ...]:
    """The names in `platforms` (a router's list) that are registered with `kind`, in order."""
    return tuple(
        name
        for name in dict.fromkeys(platforms)
        if name in PLATFORMS and PLATFORMS[name].kind == kind
    )


def _of_kind(name: str, kind: Kind) -> Platform:
    found = platform(name)
    if found.kind != kind:
        raise ConfigError(f"platform {name!r} is a {found.kind} platform, not {kind}")
    return found


@functools.cache
def _load(target: str) -> Callable[..., object]:
    module_name, _, function = target.partition(":")
    module = importlib.import_module(f"holdtime.probes.{module_name}")
    loaded: Callable[..., object] = getattr(module, function)
    return loaded
