"""Real Prometheus scrapes `holdtime serve` on the lab and on vcsim; an ESG1 shutdown shows."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_prometheus import (
    _RUN_CLI,
    PromServer,
    _free_port,
    _scrape_config,
    _wait,
    prometheus,  # noqa: F401 - the fixture, used by name
)
from vcsim_fixtures import scenarios, vcsim_binary, vcsim_site  # noqa: F401 - fixtures

from holdtime.lab import Lab

pytestmark = [
    pytest.mark.integration,
    pytest.mark.lab,
    pytest.mark.skipif(not shutil.which("prometheus"), reason="needs Debian's prometheus"),
]

ESG1 = 'holdtime_bgp_peer_established{neighbor="10.10.10.2"}'


def test_bgp_and_ipsec_series_follow_the_lab(
    lab: Lab,
    tmp_path: Path,
    prometheus: Callable[[dict[str, Any]], PromServer],  # noqa: F811 - the imported fixture
) -> None:
    """Peers, prefixes and SAs arrive with the right values; ESG1 shut turns its peer to 0."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_CLI, "serve", "-i", str(lab.inventory_path),
         "--listen", f"127.0.0.1:{port}", "--interval", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,  # not the checkout: `-c` puts the cwd first on sys.path
    )  # fmt: skip
    try:
        _wait(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=2),
            20,
            "holdtime serve healthy",
        )
        prom = prometheus({"scrape_configs": [_scrape_config("holdtime", port)]})
        peers = _wait(
            lambda: (
                len(prom.query('holdtime_bgp_peer_established{device="vpc-router-1"}')) == 2
                and prom.query('holdtime_bgp_peer_established{device="vpc-router-1"}')
            ),
            30,
            "both router peers",
        )
        assert [1.0, 1.0] == sorted(peers.values())
        received = prom.query(
            'holdtime_bgp_peer_prefixes_received{device="vpc-router-1",neighbor="10.10.10.2"}'
        )
        assert [1.0] == list(received.values())  # 172.16.1.0/24 through the route-map
        installed = prom.query('holdtime_ipsec_child_sa_installed{device="vpc-router-1"}')
        assert {"esg1": 1.0, "esg2": 1.0} == {
            key.split("ike_sa=")[1].split(",")[0]: value for key, value in installed.items()
        }
        lab.vtysh("esg1", "conf t", "router bgp 65010", "neighbor 10.10.10.1 shutdown")
        try:
            down = _wait(lambda: prom.query(f"{ESG1} == 0"), 30, "ESG1 peer at 0")
            assert [0.0] == list(down.values())
            failing = prom.query('holdtime_check_status{check="bgp.best_path",status="fail"} == 1')
            assert 1 == len(failing)
        finally:
            lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
            lab.wait_ready(timeout_seconds=60)
        back = _wait(lambda: prom.query(f"{ESG1} == 1"), 30, "ESG1 peer back at 1")
        assert [1.0] == list(back.values())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)


def test_vsphere_findings_reach_prometheus(
    vcsim_site: Any,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    prometheus: Callable[[dict[str, Any]], PromServer],  # noqa: F811 - the imported fixture
) -> None:
    """vcsim with NFS 3 mounted by name and SIOC off: nfs info and sioc_enabled 0 in Prometheus."""
    sim = vcsim_site("nfs3-by-name")
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "vcenters": [
                    {
                        "name": "vc-site-a",
                        "host": sim.host,
                        "port": sim.port,
                        "username": scenarios.USERNAME,
                        "password_env": "HOLDTIME_TEST_VC_PASSWORD",
                        "insecure": True,
                    }
                ],
            }
        )
    )
    port = _free_port()
    env = {**os.environ, "HOLDTIME_TEST_VC_PASSWORD": scenarios.PASSWORD}
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_CLI, "serve", "-i", str(inventory),
         "--listen", f"127.0.0.1:{port}", "--interval", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
    )  # fmt: skip
    try:
        _wait(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=2),
            20,
            "holdtime serve healthy",
        )
        prom = prometheus({"scrape_configs": [_scrape_config("holdtime", port)]})
        sioc = _wait(
            lambda: prom.query('holdtime_vsphere_datastore_sioc_enabled{datastore="nfs3-named"}'),
            30,
            "SIOC series",
        )
        info = prom.query('holdtime_vsphere_datastore_nfs_info{datastore="nfs3-named"}')
        failing = prom.query('holdtime_check_status{check="sioc.enabled",status="fail"} == 1')
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert [0.0] == list(sioc.values())
    assert [1.0] == list(info.values())
    assert "version=3" in next(iter(info))
    assert ["vc-site-a/ds:nfs3-named"] == [k.split("target=")[1] for k in failing]
