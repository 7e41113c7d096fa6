"""What the lab needs from this machine, and the apt command that supplies what is missing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping

from holdtime.errors import PrerequisiteError

# file the lab runs or loads -> the Debian 12 package that ships it
REQUIRED_FILES = {
    "/usr/lib/frr/zebra": "frr",
    "/usr/lib/frr/bgpd": "frr",
    "/usr/lib/frr/bfdd": "frr",
    "/usr/bin/vtysh": "frr",
    "/usr/lib/ipsec/charon": "strongswan-charon",
    "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so": "libstrongswan-extra-plugins",
    "/usr/lib/ipsec/plugins/libstrongswan-kdf.so": "libstrongswan-extra-plugins",
    "/usr/sbin/swanctl": "strongswan-swanctl",
    "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/ssh-keygen": "openssh-client",
    "/usr/sbin/nft": "nftables",
    "/usr/bin/ping": "iputils-ping",
    "/usr/bin/nsenter": "util-linux",
    "/usr/bin/unshare": "util-linux",
    "/usr/sbin/named": "bind9",  # the directory controllers' DNS (dc1, dc2)
    "/usr/bin/dig": "bind9-dnsutils",  # named's health check in `lab up`
    "/usr/bin/nsupdate": "bind9-dnsutils",  # Lab.dns_update (the tests' drift on one controller)
    "/usr/sbin/slapd": "slapd",  # the directory controllers' LDAPS (dc1, dc2)
    "/usr/sbin/slapadd": "slapd",  # loads their directory offline before slapd starts
}
TUN_DEVICE = "/dev/net/tun"


def missing_prerequisites(
    euid: int | None = None,
    exists: Callable[[str], bool] = os.path.exists,
    which: Callable[[str], str | None] = shutil.which,
    files: Mapping[str, str] = REQUIRED_FILES,
) -> list[str]:
    """Every missing prerequisite as a short phrase; empty when the lab can start."""
    problems = []
    if (os.geteuid() if euid is None else euid) != 0:
        problems.append("root (run as root: network namespaces, mounts)")
    if which("ip") is None:
        problems.append("`ip netns` (apt-get install -y iproute2)")
    if not exists(TUN_DEVICE):
        problems.append(f"{TUN_DEVICE} (userspace ESP needs TUN: modprobe tun)")
    absent = [path for path in files if not exists(path)]
    if absent:
        packages = sorted({files[path] for path in absent})
        problems.append(
            ", ".join(absent)
            + " (fix: DEBIAN_FRONTEND=noninteractive apt-get install -y "
            + " ".join(packages)
            + ")"
        )
    return problems


def check_prerequisites(problems: list[str] | None = None) -> None:
    """Raise one one-line PrerequisiteError naming everything missing and how to get it."""
    problems = missing_prerequisites() if problems is None else problems
    if problems:
        raise PrerequisiteError("holdtime lab cannot start, missing: " + "; ".join(problems))
