"""`holdtime parse PLATFORM COMMAND [FILE|-]`: run one parser on saved output, print JSON.

Operators use it to see what holdtime reads from a device; we use it to write the
expected.json of recorded fixtures. Unreadable input is a one-line error and exit code 2.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from holdtime.errors import ConfigError, ParseError

# show ip bgp summary, show bgp [vrf all] [ipv4 [unicast]] summary, show ip bgp vrf all summary
_FRR_V4_SUMMARY = r"show (?:ip )?bgp(?: vrf all)?(?: ipv4(?: unicast)?)? summary"
# show bgp [vrf all] ipv6 [unicast] summary
_FRR_V6_SUMMARY = r"show bgp(?: vrf all)? ipv6(?: unicast)? summary"

# (platform, command pattern, "module:function"); modules are imported on use only.
PARSERS: tuple[tuple[str, str, str], ...] = (
    # -- FRR (issue 12): every summary spelling; ipv6 ones name the flat family -------------
    ("frr", _FRR_V4_SUMMARY + " json", "frr:parse_frr_bgp_summary_json"),
    ("frr", _FRR_V6_SUMMARY + " json", "frr:parse_frr_bgp_ipv6_summary_json"),
    ("frr", _FRR_V4_SUMMARY, "frr:parse_frr_bgp_summary_text"),
    ("frr", _FRR_V6_SUMMARY, "frr:parse_frr_bgp_ipv6_summary_text"),
    ("frr", r"show (?:ip )?bgp (?:vrf all )?neighbors json", "frr:parse_frr_bgp_neighbors_json"),
    ("frr", r"show bgp ipv4 unicast \S+ json", "frr:parse_frr_bgp_route_json"),
    ("frr", r"show bfd peers json", "frr:parse_frr_bfd_peers_json"),
    ("frr", r"show bfd peers", "frr:parse_frr_bfd_peers_text"),
    # -- end FRR ---------------------------------------------------------------------------
    # -- IPsec (strongSwan, libreswan): every spelling each tool accepts ----------------------
    ("strongswan", r"swanctl --list-sas(?: --uri \S+)?", "strongswan:parse_swanctl_list_sas"),
    ("strongswan", r"swanctl --list-conns(?: --uri \S+)?", "strongswan:parse_swanctl_list_conns"),
    ("strongswan", r"(?:ipsec|strongswan) statusall", "strongswan:parse_stroke_statusall"),
    ("strongswan", r"(?:ipsec|strongswan) status", "strongswan:parse_stroke_status"),
    ("libreswan", r"ipsec (?:whack --|auto --)?status", "libreswan:parse_libreswan_status"),
    ("libreswan", r"ipsec (?:whack --)?trafficstatus", "libreswan:parse_libreswan_trafficstatus"),
    ("libreswan", r"ipsec (?:whack --)?showstates", "libreswan:parse_libreswan_showstates"),
    ("libreswan", r"ipsec (?:whack --)?briefstatus", "libreswan:parse_libreswan_briefstatus"),
    # -- end IPsec ----------------------------------------------------------------------------
    ("linux", r"sysctl (?:-n )?net\.ipv4\.ip_forward", "frr:parse_sysctl_ip_forward"),
)


def logical_command(platform: str, command: str) -> str:
    """The command as the parsers know it: `vtysh -c '...'` and `sudo -n` unwrapped."""
    text = " ".join(command.split())
    if text.startswith("sudo "):
        words = text.split()[1:]
        text = " ".join(w for w in words if w != "-n")
    if platform == "frr" and text.startswith("vtysh"):
        try:
            words = shlex.split(text)
        except ValueError as exc:
            raise ConfigError(f"cannot read the vtysh command {command!r}: {exc}") from None
        if "-c" in words and words.index("-c") + 1 < len(words):
            text = " ".join(words[words.index("-c") + 1].split())
    return text


def parser_for(platform: str, command: str) -> Callable[[str], Any]:
    """The parser of one platform's command; ConfigError listing the known ones otherwise."""
    text = logical_command(platform, command)
    for known_platform, pattern, target in PARSERS:
        if known_platform == platform and re.fullmatch(pattern, text):
            module_name, _, function = target.partition(":")
            module = importlib.import_module(f"holdtime.probes.{module_name}")
            func: Callable[[str], Any] = getattr(module, function)
            return func
    platforms = sorted({p for p, _, _ in PARSERS})
    if platform not in platforms:
        raise ConfigError(f"unknown platform {platform!r} (known: {', '.join(platforms)})")
    known = "; ".join(
        pattern.replace("\\", "").replace("(?:", "[").replace(")?", "]")
        for p, pattern, _ in PARSERS
        if p == platform
    )
    raise ConfigError(f"no {platform} parser for {text!r} (known: {known})")


def to_jsonable(value: Any) -> Any:
    """Dataclasses, tuples and mappings as plain JSON values."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def parse_text(platform: str, command: str, text: str) -> Any:
    """Parse `text` as the output of `command` on `platform` and return it JSON-ready."""
    return to_jsonable(parser_for(platform, command)(text))


def _read(source: str) -> tuple[str, str]:
    if source == "-":
        return sys.stdin.read(), "<stdin>"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def handle(args: argparse.Namespace) -> int:
    """Print the parsed observation as JSON; exit 0 (errors exit 2 through cli.main)."""
    parser = parser_for(args.platform, args.parse_command)
    text, name = _read(args.file)
    try:
        parsed = parser(text)
    except ParseError as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else "unreadable"
        raise ParseError(f"{name}: {message}") from None
    import json

    json.dump(to_jsonable(parsed), sys.stdout, indent=2 if args.indent else None)
    sys.stdout.write("\n")
    return 0


def register(subparsers: Any) -> None:
    """Add `holdtime parse`."""
    parser = subparsers.add_parser(
        "parse",
        help="parse saved device output (vtysh, swanctl, ipsec) and print it as JSON",
        description="Parse the output of one device command and print what holdtime reads "
        "from it, as JSON. Example: holdtime parse strongswan 'swanctl --list-sas' out.txt",
    )
    parser.add_argument("platform", choices=sorted({p for p, _, _ in PARSERS}))
    parser.add_argument(
        "parse_command",
        metavar="COMMAND",
        help="the command that produced the output, e.g. 'show bgp vrf all summary json'",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE", help="file, or - (stdin)")
    parser.add_argument("--compact", dest="indent", action="store_false", help="one line of JSON")
    parser.set_defaults(handler=handle)
