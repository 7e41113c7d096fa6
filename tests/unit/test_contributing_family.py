"""CONTRIBUTING.md's "add a family" file list is exactly what the third-party test package holds."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tests" / "thirdparty" / "holdtime-banner"


def _listed_files() -> set[str]:
    text = (ROOT / "CONTRIBUTING.md").read_text()
    block = text.split("<!-- family-files -->", 1)[1].split("<!-- /family-files -->", 1)[0]
    return set(re.findall(r"^- `([^`]+)`", block, flags=re.MULTILINE))


def _package_files() -> set[str]:
    return {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*")
        if path.is_file()
        and not any(part == "__pycache__" or part.startswith(".") for part in path.parts)
    }


def test_walkthrough_lists_every_file_of_the_test_family() -> None:
    """Every file the third-party family needed is listed, and nothing else."""
    assert _package_files() == _listed_files()


def test_every_plugin_of_the_test_family_is_one_pyproject_line() -> None:
    """The family registers its probe, check and report format with one entry-point line each."""
    pyproject = (PACKAGE / "pyproject.toml").read_text()
    groups = re.findall(r'^\[project\.entry-points\."(holdtime\.\w+)"\]\n(.+)$', pyproject, re.M)
    assert [
        ("holdtime.probes", 'banner = "holdtime_banner.probe:BannerProbe"'),
        ("holdtime.checks", '"banner.matches" = "holdtime_banner.check:BannerMatchesCheck"'),
        ("holdtime.reports", 'csv = "holdtime_banner.report:render"'),
    ] == groups
