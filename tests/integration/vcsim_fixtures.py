"""pytest fixtures running govmomi's vcsim with holdtime's scenarios (import from conftest.py).

``vcsim_site(name)`` builds the named scenario of tests/vcsim/vcsim_scenarios.py once per session
and returns a running simulator on 127.0.0.1 (random free port). The launcher is built by
tests/vcsim/build.sh when missing; tests skip, saying why, only when go or govmomi are missing.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from holdtime.probes.vsphere_config import VCenter

VCSIM_DIR = Path(__file__).resolve().parents[1] / "vcsim"


def _load_scenarios() -> ModuleType:
    name = "vcsim_scenarios"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, VCSIM_DIR / "vcsim_scenarios.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


scenarios = _load_scenarios()


def vcenter_for(sim: Any, name: str = "vc-site-a", **changes: Any) -> VCenter:
    """A VCenter inventory entry pointing at a running vcsim (TLS unverified unless changed)."""
    fields: dict[str, Any] = {
        "name": name,
        "host": sim.host,
        "port": sim.port,
        "username": scenarios.USERNAME,
        "password": scenarios.PASSWORD,
        "verify_tls": False,
    }
    fields.update(changes)
    return VCenter(**fields)


@pytest.fixture(scope="session")
def vcsim_binary() -> Path:
    """The vcsim launcher, built if missing; skip when go/govmomi are not installed."""
    reason = scenarios.environment_ready()
    if reason is not None:
        pytest.skip(f"vcsim cannot be built: {reason}")
    return Path(scenarios.ensure_binary())


@pytest.fixture(scope="session")
def vcsim_site(
    vcsim_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Any]]:
    """Factory: scenario name -> running vcsim loaded with it (one per name per session)."""
    running: dict[str, Any] = {}
    root = tmp_path_factory.mktemp("vcsim")

    def site(name: str) -> Any:
        if name not in running:
            scenario = (
                scenarios.SCENARIOS[name]
                if name in scenarios.SCENARIOS
                else scenarios.bench_scenario(int(name.removeprefix("bench-")))
            )
            inventory = scenarios.build(scenario, root / name)
            running[name] = scenarios.start(("-load", str(inventory)))
        return running[name]

    yield site
    for sim in running.values():
        sim.stop()


@pytest.fixture(scope="session")
def vcsim_tls(
    vcsim_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, Path]]:
    """A vcsim serving an openssl self-signed certificate for 127.0.0.1; yields (sim, cert)."""
    cert, key = scenarios.ensure_tls_cert(tmp_path_factory.mktemp("vcsim-tls"))
    sim = scenarios.start(("-tlscert", str(cert), "-tlskey", str(key), "-pg", "0"))
    yield sim, cert
    sim.stop()


@pytest.fixture(scope="session")
def vcsim_kms(
    vcsim_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], Any]]:
    """Factory: kms scenario name -> running vcsim with that crypto manager (one per name)."""
    running: dict[str, Any] = {}
    root = tmp_path_factory.mktemp("vcsim-kms")

    def site(name: str) -> Any:
        if name not in running:
            scenario = scenarios.KMS_SCENARIOS[name]
            running[name] = scenarios.start(scenarios.kms_args(scenario, root))
        return running[name]

    yield site
    for sim in running.values():
        sim.stop()
