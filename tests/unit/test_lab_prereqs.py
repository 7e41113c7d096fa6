"""The lab's prerequisite check names what is missing and the apt command that fixes it."""

from __future__ import annotations

import pytest

from holdtime.errors import PrerequisiteError
from holdtime.lab.prereqs import REQUIRED_FILES, check_prerequisites, missing_prerequisites


def _which(name: str) -> str | None:
    return f"/usr/bin/{name}"


def test_nothing_missing() -> None:
    """Root, ip, TUN and every file present: no problem at all."""
    assert [] == missing_prerequisites(euid=0, exists=lambda path: True, which=_which)


def test_missing_plugin_names_file_and_package() -> None:
    """A missing kernel-libipsec plugin names the .so and the apt package that ships it."""
    plugin = "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"
    problems = missing_prerequisites(euid=0, exists=lambda path: path != plugin, which=_which)
    expected = [
        f"{plugin} (fix: DEBIAN_FRONTEND=noninteractive apt-get install -y "
        "libstrongswan-extra-plugins)"
    ]
    assert expected == problems


def test_one_apt_command_for_several_packages() -> None:
    """Missing FRR and sshd files give one apt command listing each package once."""
    gone = {"/usr/lib/frr/zebra", "/usr/lib/frr/bgpd", "/usr/sbin/sshd"}
    problems = missing_prerequisites(euid=0, exists=lambda path: path not in gone, which=_which)
    assert 1 == len(problems)
    assert True is problems[0].endswith("apt-get install -y frr openssh-server)")


def test_not_root_no_tun_no_ip() -> None:
    """Non-root, no /dev/net/tun and no `ip` are each reported."""
    problems = missing_prerequisites(
        euid=1000, exists=lambda path: path in REQUIRED_FILES, which=lambda name: None
    )
    assert [
        "root (run as root: network namespaces, mounts)",
        "`ip netns` (apt-get install -y iproute2)",
        "/dev/net/tun (userspace ESP needs TUN: modprobe tun)",
    ] == problems


def test_error_is_one_line() -> None:
    """check_prerequisites raises a single-line PrerequisiteError joining every problem."""
    with pytest.raises(PrerequisiteError) as caught:
        check_prerequisites(["root (run as root)", "/usr/sbin/nft (fix: apt-get install nftables)"])
    message = str(caught.value)
    assert "\n" not in message
    assert (
        "holdtime lab cannot start, missing: root (run as root); "
        "/usr/sbin/nft (fix: apt-get install nftables)"
    ) == message


def test_check_passes_when_nothing_missing() -> None:
    """An empty problem list raises nothing."""
    raised = []
    try:
        check_prerequisites([])
    except PrerequisiteError as error:
        raised.append(str(error))
    assert [] == raised
