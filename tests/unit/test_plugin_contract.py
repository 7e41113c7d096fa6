"""Every registered entry point loads and satisfies its Protocol."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from holdtime.plugins import Check, CheckDescription, Probe


def _names(group: str) -> list[str]:
    return sorted(e.name for e in entry_points(group=group))


@pytest.mark.parametrize("name", _names("holdtime.probes"))
def test_probe_entry_points_satisfy_protocol(name: str) -> None:
    """Each probe entry point builds an object with name, targets() and collect()."""
    (entry,) = entry_points(group="holdtime.probes", name=name)
    probe = entry.load()()
    assert isinstance(probe, Probe)
    assert name == probe.name


@pytest.mark.parametrize("name", _names("holdtime.checks"))
def test_check_entry_points_satisfy_protocol_and_describe_themselves(name: str) -> None:
    """Each check is named like its entry point, names a registered probe and describes itself."""
    (entry,) = entry_points(group="holdtime.checks", name=name)
    check = entry.load()()
    assert isinstance(check, Check)
    assert name == check.name
    assert check.probe in _names("holdtime.probes")
    description = check.describe()
    assert isinstance(description, CheckDescription)
    assert (name, check.probe) == (description.name, description.probe)
    assert description.summary
    assert description.compares


@pytest.mark.parametrize("name", _names("holdtime.reports"))
def test_report_entry_points_are_callables(name: str) -> None:
    """Each report format is a callable renderer."""
    (entry,) = entry_points(group="holdtime.reports", name=name)
    assert callable(entry.load())


def test_check_names_are_family_dot_what() -> None:
    """Check names read `family.what` so --only 'bgp.*' selects a family."""
    for name in _names("holdtime.checks"):
        family, _, what = name.partition(".")
        assert family, name
        assert what, name
