"""The platform registry: each platform once, by name, with its kind, allowlist and reader."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from holdtime.errors import CommandRefused, ConfigError
from holdtime.probes import commands, platforms


def test_platform_names_and_kinds() -> None:
    """frr routes, strongSwan and libreswan are IPsec; linux is the host, not a choice."""
    assert (
        ("frr", "strongswan", "libreswan"),
        ("frr",),
        ("strongswan", "libreswan"),
        {"frr": "routing", "strongswan": "ipsec", "libreswan": "ipsec", "linux": "system"},
    ) == (
        platforms.PLATFORM_NAMES,
        platforms.ROUTING_PLATFORMS,
        platforms.IPSEC_PLATFORMS,
        {name: p.kind for name, p in platforms.PLATFORMS.items()},
    )


def test_importing_the_registry_imports_no_reader_or_parser(tmp_path: Path) -> None:
    """Importing probes.platforms (the inventory does) loads no reader, parser or paramiko."""
    code = (
        "import sys, holdtime.probes.platforms; "
        "print(sorted(m for m in sys.modules if m.startswith('holdtime.probes.') "
        "or m == 'paramiko'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert "['holdtime.probes.platforms']" == out.stdout.strip()


@pytest.mark.parametrize("name", sorted(platforms.PLATFORMS))
def test_every_reader_loads_with_the_signature_of_its_kind(name: str) -> None:
    """Each registered reader imports and takes the parameters its kind's Protocol names."""
    platform = platforms.PLATFORMS[name]
    protocol = {
        "routing": platforms.RoutingReader,
        "ipsec": platforms.IpsecReader,
        "system": platforms.SystemReader,
    }[platform.kind]
    wanted = list(inspect.signature(protocol.__call__).parameters)[1:]  # without self
    assert wanted == list(inspect.signature(platform.load_reader()).parameters)


@pytest.mark.parametrize("name", sorted(platforms.PLATFORMS))
def test_every_allowlist_pattern_compiles_and_admits_no_metacharacter(name: str) -> None:
    """Patterns compile; none matches a command with a shell metacharacter appended."""
    for pattern in platforms.PLATFORMS[name].allowlist:
        compiled = re.compile(pattern)
        assert not compiled.fullmatch("show version; reboot")


def test_reader_of_the_wrong_kind_names_both_kinds() -> None:
    """Asking strongSwan for a routing reader is a ConfigError naming what it is."""
    with pytest.raises(ConfigError) as caught:
        platforms.routing_reader("strongswan")
    assert "platform 'strongswan' is a ipsec platform, not routing" == str(caught.value)


def test_unknown_platform_names_the_device_and_the_known_ones() -> None:
    """An unregistered platform is refused with the device and every registered name."""
    with pytest.raises(ConfigError) as caught:
        platforms.platform("vyos", device="edge-1")
    assert "edge-1: unknown platform 'vyos' (frr, strongswan, libreswan, linux)" == str(
        caught.value
    )
    with pytest.raises(CommandRefused):
        commands.build("vyos", "show ip bgp summary")


def test_of_kind_keeps_the_router_order_and_skips_unknown_names() -> None:
    """A router's list filtered by kind: inventory order, duplicates once, unknown left out."""
    listed = ("libreswan", "frr", "strongswan", "libreswan", "vyos")
    assert ("libreswan", "strongswan") == platforms.of_kind(listed, "ipsec")


def test_the_registry_says_how_a_command_reaches_the_platform() -> None:
    """frr goes through `vtysh -c`; the others run as typed."""
    assert (
        "vtysh -c 'show bfd peers json'",
        "swanctl --list-sas",
    ) == (
        commands.build("frr", "show bfd peers json").line,
        commands.build("strongswan", "swanctl --list-sas").line,
    )
