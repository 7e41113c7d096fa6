"""A third-party family, built and installed into a temporary venv, needs no change to holdtime.

tests/thirdparty/holdtime-banner is a separate distribution (its own pyproject) that adds an
inventory section (`banners:`), a probe, a check with a metric, and a report format (`csv`).
The test builds it with pip into a fresh venv that sees this holdtime (a .pth file), then runs
the real `holdtime` and pytest there against a real TCP listener on loopback.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import sysconfig
import threading
import time
import urllib.request
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

PACKAGE = Path(__file__).resolve().parents[1] / "thirdparty" / "holdtime-banner"
BANNER = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"


@pytest.fixture(scope="module")
def family_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a new venv with holdtime (this one) and holdtime-banner installed."""
    root = tmp_path_factory.mktemp("family-venv")
    venv.EnvBuilder(with_pip=True).create(root)
    python = root / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # holdtime and its dependencies as installed for this test run, like a system package
    Path(site, "holdtime-under-test.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # built like any sdist (an isolated build env from the package index, as pip does for users)
    install = ["install", "-q", "--no-deps"]
    quiet = ["--disable-pip-version-check"]
    source = root / "src-copy"  # setuptools writes build/ and egg-info next to the sources
    shutil.copytree(PACKAGE, source)
    subprocess.run([python, "-m", "pip", *install, *quiet, str(source)], check=True, cwd=root)
    return python


@pytest.fixture
def banner_port() -> Iterator[int]:
    """A real listener on loopback that greets every connection with an SSH banner."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(BANNER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(timeout=2)
    server.close()


def _holdtime(python: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from holdtime.cli import main; sys.exit(main())"
    return subprocess.run(
        [python, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def _inventory(tmp_path: Path, port: int, *, key: str = "host", contains: str = "SSH-2.0") -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(
        "version: 1\n"
        "banners:\n"
        f"  - name: bastion\n    {key}: 127.0.0.1\n    port: {port}\n"
        f"    expect_contains: {contains}\n"
    )
    return path


def test_validate_accepts_the_section_and_counts_it(
    family_python: Path, banner_port: int, tmp_path: Path
) -> None:
    """`inventory validate` knows the third-party `banners:` section and counts its entries."""
    inventory = _inventory(tmp_path, banner_port)
    done = _holdtime(family_python, "inventory", "validate", str(inventory), cwd=tmp_path)
    assert (0, "") == (done.returncode, done.stderr)
    assert "1 banners" in done.stdout


def test_a_typo_in_the_section_names_file_line_and_the_key(
    family_python: Path, banner_port: int, tmp_path: Path
) -> None:
    """A misspelt key in `banners:` gets file:line:col and a did-you-mean, like holdtime's own."""
    inventory = _inventory(tmp_path, banner_port, key="hots")
    done = _holdtime(family_python, "inventory", "validate", str(inventory), cwd=tmp_path)
    assert 2 == done.returncode
    assert f"{inventory}:4:5: banners[0]: unknown key 'hots' (did you mean 'host'?)" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_runs_the_family_and_its_report_format(
    family_python: Path, banner_port: int, tmp_path: Path
) -> None:
    """`holdtime check --format csv` runs the third-party probe and check, in its own format."""
    inventory = _inventory(tmp_path, banner_port)
    done = _holdtime(family_python, "check", "-i", str(inventory), "--format", "csv", cwd=tmp_path)
    assert (0, "") == (done.returncode, done.stderr)
    lines = done.stdout.splitlines()
    assert "check,target,status,summary" == lines[0]
    assert lines[1].startswith(f"banner.matches,bastion/127.0.0.1:{banner_port},pass,")


def test_a_mismatch_fails_and_describe_lists_the_check(
    family_python: Path, banner_port: int, tmp_path: Path
) -> None:
    """The third-party check can fail; `holdtime describe` lists it with its probe."""
    inventory = _inventory(tmp_path, banner_port, contains="SMTP")
    done = _holdtime(family_python, "check", "-i", str(inventory), "--format", "csv", cwd=tmp_path)
    assert 1 == done.returncode
    assert ",fail," in done.stdout.splitlines()[1]
    described = _holdtime(family_python, "describe", "banner.matches", cwd=tmp_path)
    assert 0 == described.returncode
    assert "banner.matches" in described.stdout
    assert "banner" in described.stdout


def test_pytest_plugin_makes_an_item_for_the_family(
    family_python: Path, banner_port: int, tmp_path: Path
) -> None:
    """The pytest plugin collects and runs one item per banners entry."""
    inventory = _inventory(tmp_path, banner_port)
    done = subprocess.run(
        [
            family_python,
            "-m",
            "pytest",
            f"--holdtime-inventory={inventory}",
            "-v",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert 0 == done.returncode, done.stdout + done.stderr
    assert f"banner.matches[bastion/127.0.0.1:{banner_port}] PASSED" in done.stdout


def test_the_family_metric_is_exported(
    family_python: Path, banner_port: int, tmp_path: Path
) -> None:
    """`holdtime serve` exposes the check's declared metric next to holdtime_check_status."""
    inventory = _inventory(tmp_path, banner_port)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        listen = probe.getsockname()[1]
    code = "import sys; from holdtime.cli import main; sys.exit(main())"
    server = subprocess.Popen(
        [
            family_python,
            "-c",
            code,
            "serve",
            "-i",
            str(inventory),
            "--listen",
            f"127.0.0.1:{listen}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        text = _scrape_until(f"http://127.0.0.1:{listen}/metrics", "holdtime_banner_")
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (
        f'holdtime_banner_latency_seconds{{device="bastion",target="bastion/127.0.0.1:{banner_port}"}}'
        in text
    )
    assert 'holdtime_check_status{check="banner.matches"' in text


def _scrape_until(url: str, needle: str, attempts: int = 100) -> str:
    """The exposition once it holds `needle` (the first check run is asynchronous)."""
    text = ""
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                text = response.read().decode()
        except OSError:
            text = ""
        if needle in text:
            return text
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never appeared at {url}; last answer:\n{text[:2000]}")


def test_python_running_the_suite_is_not_the_family_venv() -> None:
    """The family is installed only in its own venv: this interpreter does not see it."""
    done = subprocess.run(
        [sys.executable, "-c", "import holdtime_banner"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert 0 != done.returncode
