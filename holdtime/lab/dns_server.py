"""The lab's directory controllers' DNS: bind9 `named` configs and zones, rendered as text.

Each directory controller (dc1, dc2) runs its own `named` by hand in its namespace, with its own
folder under the lab's state folder (config, zones, journals, pid file, rndc key): no systemd,
no /etc/bind. bind9 stands in for the AD-integrated DNS of the reference deployment: it is an
authoritative server with zone files, answers on UDP and TCP, and takes dynamic updates, so a
test removes a record on one controller only (``nsupdate`` against that controller) the way
replication drift leaves it. Both controllers are primaries of the same zones (AD's multi-master
replication, not a zone transfer).

Pure functions, unit-tested; `holdtime.lab.lab` writes the files and starts the processes.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from holdtime.lab.topology import DNS_RECORDS, DNS_ZONE, DOMAIN_CONTROLLERS

NAMED = "/usr/sbin/named"
SERIAL = 1


def reverse_zones(records: Mapping[str, str] = DNS_RECORDS) -> list[str]:
    """The /24 reverse zones (`1.16.172.in-addr.arpa`) that hold the records' PTRs, sorted."""
    zones = set()
    for address in records.values():
        octets = address.split(".")
        zones.add(".".join(reversed(octets[:3])) + ".in-addr.arpa")
    return sorted(zones)


def _soa(zone: str, primary: str) -> str:
    # One line per record: named-checkzone reads it, and a test diff reads it too.
    return (
        f"$ORIGIN {zone}.\n$TTL 60\n"
        f"@ IN SOA {primary}.{DNS_ZONE}. hostmaster.{DNS_ZONE}. {SERIAL} 60 30 600 30\n"
        + "".join(f"@ IN NS {dc}.{DNS_ZONE}.\n" for dc in DOMAIN_CONTROLLERS)
    )


def forward_zone(primary: str, records: Mapping[str, str] = DNS_RECORDS) -> str:
    """The lab zone: an A record per node name (short names, relative to the zone)."""
    lines = [f"{name} IN A {address}\n" for name, address in records.items()]
    return _soa(DNS_ZONE, primary) + "".join(lines)


def reverse_zone(zone: str, primary: str, records: Mapping[str, str] = DNS_RECORDS) -> str:
    """One /24 reverse zone: a PTR per node address in it, naming the node back."""
    lines = []
    for name, address in records.items():
        pointer = ipaddress.ip_address(address).reverse_pointer
        if pointer.endswith("." + zone):
            lines.append(f"{pointer}. IN PTR {name}.{DNS_ZONE}.\n")
    return _soa(zone, primary) + "".join(lines)


def zone_files(primary: str, records: Mapping[str, str] = DNS_RECORDS) -> dict[str, str]:
    """File name -> text of every zone one controller serves."""
    files = {f"{DNS_ZONE}.zone": forward_zone(primary, records)}
    for zone in reverse_zones(records):
        files[f"{zone}.zone"] = reverse_zone(zone, primary, records)
    return files


def named_conf(folder: str, listen: str, records: Mapping[str, str] = DNS_RECORDS) -> str:
    """named.conf of one controller: authoritative only, on `listen` and 127.0.0.1, port 53.

    Dynamic updates are accepted from the controller's own loopback only (a test's nsupdate runs
    inside the controller's namespace). No rndc channel: the lab stops named by pid and reloads
    it with SIGHUP.
    """
    zones = [DNS_ZONE, *reverse_zones(records)]
    text = (
        "controls { };\n"
        "options {\n"
        f'  directory "{folder}";\n'
        f'  pid-file "{folder}/named.pid";\n'
        f'  session-keyfile "{folder}/session.key";\n'
        f'  managed-keys-directory "{folder}";\n'
        f"  listen-on port 53 {{ {listen}; 127.0.0.1; }};\n"
        "  listen-on-v6 { none; };\n"
        "  recursion no;\n"
        "  dnssec-validation no;\n"
        "  notify no;\n"
        "  allow-query { any; };\n"
        "};\n"
        "logging {\n"
        f'  channel main {{ file "{folder}/named.log"; severity info; print-time yes; }};\n'
        "  category default { main; };\n"
        "  category queries { null; };\n"
        "};\n"
    )
    for zone in zones:
        text += (
            f'zone "{zone}" {{\n  type primary;\n  file "{folder}/{zone}.zone";\n'
            "  allow-update { 127.0.0.1; };\n};\n"
        )
    return text


def named_argv(folder: str) -> list[str]:
    """`named` in the foreground (-f), as root in the lab namespace, one worker thread pair."""
    return [NAMED, "-f", "-n", "1", "-4", "-c", f"{folder}/named.conf"]
