"""The lab's named configs and zones, checked by bind9's own named-checkconf / named-checkzone."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from holdtime.lab import dns_server
from holdtime.lab.topology import DNS_RECORDS, DNS_ZONE

pytestmark = pytest.mark.skipif(
    shutil.which("named-checkzone") is None, reason="bind9 (named-checkzone) is not installed"
)


def test_every_zone_loads_with_named_checkzone(tmp_path: Path) -> None:
    """The forward zone and every reverse zone pass named-checkzone (exit 0, serial 1)."""
    outcomes = []
    for name, text in dns_server.zone_files("dc1").items():
        (tmp_path / name).write_text(text)
        zone = name.removesuffix(".zone")
        done = subprocess.run(
            ["named-checkzone", zone, str(tmp_path / name)],
            capture_output=True,
            text=True,
            check=False,
        )
        outcomes.append((zone, done.returncode, "loaded serial 1" in done.stdout))
    assert [(z, 0, True) for z, _, _ in outcomes] == outcomes


def test_named_conf_passes_named_checkconf_with_its_zones(tmp_path: Path) -> None:
    """named-checkconf -z reads the config and loads every zone it names."""
    for name, text in dns_server.zone_files("dc2").items():
        (tmp_path / name).write_text(text)
    (tmp_path / "named.conf").write_text(dns_server.named_conf(str(tmp_path), "172.16.1.12"))
    done = subprocess.run(
        ["named-checkconf", "-z", str(tmp_path / "named.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (0, 4) == (done.returncode, done.stdout.count("loaded serial 1"))


def test_every_node_has_a_ptr_naming_it_back() -> None:
    """Each lab node's address has exactly one PTR, in the reverse zone of its /24."""
    ptrs = "".join(
        dns_server.reverse_zone(zone, "dc1") for zone in dns_server.reverse_zones()
    ).splitlines()
    for node, address in DNS_RECORDS.items():
        octets = address.split(".")
        line = f"{'.'.join(reversed(octets))}.in-addr.arpa. IN PTR {node}.{DNS_ZONE}."
        assert (node, 1) == (node, ptrs.count(line))
