"""Syntax of router fields that are only used later (over SSH): checked at `inventory validate`.

``swanctl_uris`` end up in ``swanctl --uri URI`` (the read-only allowlist accepts only
``unix:///path`` vici sockets), ``proxy_jump`` in the SSH hop chain. A typo in either used to
surface only when a check or a drill ran.
"""

from __future__ import annotations

import re

# unix:///run/charon-esg1/charon.vici (the same form the command allowlist accepts)
VICI_URI = re.compile(r"unix:///[A-Za-z0-9_./-]+")
# bastion.example.net, 10.20.0.9, 2001:db8::9 (never starts with "-": it could be an option)
_HOST = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:-]*")
# ops, ops.admin
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def swanctl_uri_problem(uri: object) -> str:
    """'' for a vici socket URI holdtime can use, else what is wrong."""
    if isinstance(uri, str) and VICI_URI.fullmatch(uri):
        return ""
    return f"{uri!r} is not a vici socket URI like unix:///run/charon.vici"


def proxy_jump_problem(value: object) -> str:
    """'' for `none` or a comma list of [user@]host[:port] (IPv6 as [addr]:port), else why."""
    if not isinstance(value, str) or not value.strip():
        return "must be [user@]host[:port], a comma-separated list of them, or none"
    if value == "none":
        return ""
    for spec in (hop.strip() for hop in value.split(",")):
        user, at, hostport = spec.rpartition("@")
        if at and not _USER.fullmatch(user):
            return f"{spec!r}: {user!r} is not a user name"
        host, port = hostport, ""
        if hostport.startswith("["):
            host, _, rest = hostport[1:].partition("]")
            if rest and not rest.startswith(":"):
                return f"{spec!r}: expected ]:PORT after the IPv6 address"
            port = rest[1:]
        elif hostport.count(":") == 1:
            host, _, port = hostport.partition(":")
        if not _HOST.fullmatch(host):
            return f"{spec!r} names no valid host"
        if (port or hostport.endswith(":")) and not (
            port.isascii() and port.isdecimal() and 0 < int(port) < 65536
        ):
            return f"{spec!r} has an invalid port"
    return ""
