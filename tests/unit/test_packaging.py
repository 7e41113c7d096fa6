"""The built wheel holds every module under the single `holdtime` namespace, nothing else."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAPPED = {
    "holdtime": "holdtime",
    "probes": "holdtime/probes",
    "checks": "holdtime/checks",
    "exporters": "holdtime/exporters",
    "reports": "holdtime/reports",
}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from the working tree once."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(REPO)],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("holdtime-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> set[str]:
    """The files in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _source_modules() -> set[str]:
    expected = set()
    for folder, installed in MAPPED.items():
        for path in (REPO / folder).rglob("*.py"):
            if "__pycache__" not in path.parts:
                expected.add(f"{installed}/{path.relative_to(REPO / folder).as_posix()}")
    return expected


def test_wheel_contains_every_module_of_the_mapped_folders(wheel_names: set[str]) -> None:
    """Every .py under holdtime/, probes/, checks/, exporters/, reports/ is in the wheel."""
    assert set() == _source_modules() - wheel_names


def test_wheel_has_nothing_top_level_but_holdtime(wheel_names: set[str]) -> None:
    """No generic top-level package (probes, checks, reports, ...) lands in site-packages."""
    tops = {name.split("/")[0] for name in wheel_names}
    assert {"holdtime"} == {t for t in tops if not t.endswith(".dist-info")}


def test_wheel_declares_the_console_script_and_plugin_groups(wheel: Path) -> None:
    """entry_points.txt names the CLI, the pytest plugin and every plugin group."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")]
        text = archive.read(name).decode()
    sections = {line.strip("[]") for line in text.splitlines() if line.startswith("[")}
    expected = {
        "console_scripts",
        "pytest11",
        "holdtime.probes",
        "holdtime.checks",
        "holdtime.reports",
    }
    assert expected <= sections
    assert "holdtime = holdtime.cli:main" in text


def test_wheel_is_typed(wheel_names: set[str]) -> None:
    """The py.typed marker ships, so users' mypy checks their plugins against ours."""
    assert "holdtime/py.typed" in wheel_names
