"""Real Prometheus scrapes `holdtime serve` on the lab plus vcsim; an ESG1 shutdown shows."""

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

ROUTER = 'device="vpc-router-1"'
ESG1 = 'holdtime_bgp_peer_established{neighbor="10.10.10.2"}'


def _by(series: dict[str, float], label: str) -> dict[str, float]:
    """{value of `label`: sample} from PromServer.query keys ("a=1,b=2")."""
    out = {}
    for key, value in series.items():
        labels = dict(part.split("=", 1) for part in key.split(","))
        out[labels[label]] = value
    return out


def _inventory(lab: Lab, sites: dict[str, Any], path: Path) -> dict[str, Any]:
    """The lab's own inventory plus one `vcenters:` entry per running vcsim."""
    inventory = yaml.safe_load(lab.inventory_path.read_text())
    inventory["vcenters"] = [
        {
            "name": name,
            "host": sim.host,
            "port": sim.port,
            "username": scenarios.USERNAME,
            "password_env": "HOLDTIME_TEST_VC_PASSWORD",
            "insecure": True,
        }
        for name, sim in sites.items()
    ]
    path.write_text(yaml.safe_dump(inventory))
    return inventory


def test_lab_and_vcsim_series_reach_prometheus_and_esg1_shutdown_shows(
    lab: Lab,
    vcsim_site: Any,  # noqa: F811 - the imported fixture
    tmp_path: Path,
    prometheus: Callable[[dict[str, Any]], PromServer],  # noqa: F811 - the imported fixture
) -> None:
    """Peers, prefixes, SAs and vSphere findings arrive as queried values; ESG1 shut -> 0 -> 1."""
    sites = {"vc-healthy": vcsim_site("healthy"), "vc-by-name": vcsim_site("nfs3-by-name")}
    inventory = _inventory(lab, sites, tmp_path / "inventory.yaml")
    neighbors = inventory["routers"][0]["expect"]["bgp"]["neighbors"]
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_CLI, "serve", "-i", str(tmp_path / "inventory.yaml"),
         "--listen", f"127.0.0.1:{port}", "--interval", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=tmp_path,  # not the checkout: `-c` puts the cwd first on sys.path
        env={**os.environ, "HOLDTIME_TEST_VC_PASSWORD": scenarios.PASSWORD},
    )  # fmt: skip
    try:
        _wait(
            lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2),
            30,
            "holdtime serve ready (every job ran once)",
        )
        prom = prometheus({"scrape_configs": [_scrape_config("holdtime", port)]})
        # two scrapes of each source before reading values
        for source in (f"holdtime_bgp_peer_established{{{ROUTER}}}",
                       "holdtime_vsphere_datastore_nfs_info"):  # fmt: skip
            _wait(
                lambda s=source: prom.query(f"count_over_time({s}[1m]) >= 2"),
                30,
                f"two scrapes of {source}",
            )
        q = prom.query
        # --- BGP and IPsec on vpc-router-1 (the lab) ---
        assert {"10.10.10.2": 1.0, "10.10.10.6": 1.0} == _by(
            q(f"holdtime_bgp_peer_established{{{ROUTER}}}"), "neighbor"
        )
        assert {n["address"]: float(len(n["prefixes_received"])) for n in neighbors} == _by(
            q(f"holdtime_bgp_peer_prefixes_received{{{ROUTER}}}"), "neighbor"
        )
        assert {n["address"]: float(len(n["prefixes_sent"])) for n in neighbors} == _by(
            q(f"holdtime_bgp_peer_prefixes_sent{{{ROUTER}}}"), "neighbor"
        )
        assert {"10.10.10.2": float(lab.timers[1]), "10.10.10.6": float(lab.timers[1])} == _by(
            q(f"holdtime_bgp_peer_hold_time_seconds{{{ROUTER}}}"), "neighbor"
        )
        assert {"esg1": 1.0, "esg2": 1.0} == _by(
            q(f'holdtime_bgp_peer_info{{{ROUTER},remote_as="65010"}}'), "description"
        )
        assert {"esg1": 1.0, "esg2": 1.0} == _by(
            q(f"holdtime_ipsec_ike_sa_established{{{ROUTER}}}"), "ike_sa"
        )
        assert {"esg1": 1.0, "esg2": 1.0} == _by(
            q(f"holdtime_ipsec_child_sa_installed{{{ROUTER}}}"), "ike_sa"
        )
        # the BGP session itself crosses the tunnel: its keepalives count
        assert {"esg1": 1.0, "esg2": 1.0} == _by(
            q(f"holdtime_ipsec_child_sa_out_bytes_total{{{ROUTER}}} > bool 0"), "ike_sa"
        )
        # --- vSphere on vcsim (tests/vcsim scenarios "healthy" and "nfs3-by-name") ---
        assert {
            "nfs3-gold": "3",
            "nfs3-silver": "3",
            "nfs41-bronze": "4.1",
            "nfs3-named": "3",
        } == {
            ds: _by(
                q(f'holdtime_vsphere_datastore_nfs_info{{datastore="{ds}"}}'), "version"
            ).popitem()[0]
            for ds in ("nfs3-gold", "nfs3-silver", "nfs41-bronze", "nfs3-named")
        }
        assert {"nfs3-gold": 1.0, "nfs3-silver": 1.0, "nfs41-bronze": 2.0, "nfs3-named": 1.0} == (
            _by(q("holdtime_vsphere_datastore_nfs_server_addresses"), "datastore")
        )
        assert {"nfs3-gold": 1.0, "nfs3-silver": 1.0, "nfs3-named": 0.0} == _by(
            q("holdtime_vsphere_datastore_sioc_enabled"), "datastore"
        )
        assert {"nfs3-gold": 0.03, "nfs3-silver": 0.03, "nfs3-named": 0.03} == _by(
            q("holdtime_vsphere_datastore_sioc_congestion_threshold_seconds"), "datastore"
        )
        assert (3, {"match"}) == (
            len(q('holdtime_vsphere_dvs_teaming_status{dvs="dvs-prod"} == 1')),
            set(_by(q('holdtime_vsphere_dvs_teaming_status{dvs="dvs-prod"} == 1'), "status")),
        )
        assert {"teaming": 1.0, "vlan_mtu": 1.0} == _by(
            q('holdtime_vsphere_dvs_healthcheck_enabled{dvs="dvs-prod"}'), "check"
        )
        # the finding joins with its check status on target/device
        assert {"vc-by-name/ds:nfs3-named": 1.0} == _by(
            q(
                'holdtime_check_status{check="sioc.enabled",status="fail"} == 1 '
                "and on (target, device) holdtime_vsphere_datastore_sioc_enabled == 0"
            ),
            "target",
        )
        # --- ESG1 shuts its neighbor: the router's peer 10.10.10.2 goes to 0, then back ---
        lab.vtysh("esg1", "conf t", "router bgp 65010", "neighbor 10.10.10.1 shutdown")
        try:
            down = _wait(lambda: q(f"{ESG1} == 0"), 30, "ESG1 peer at 0")
            assert [0.0] == list(down.values())
            assert {"10.10.10.6": 1.0} == _by(
                q(f"holdtime_bgp_peer_established{{{ROUTER}}} == 1"), "neighbor"
            )
        finally:
            lab.vtysh("esg1", "conf t", "router bgp 65010", "no neighbor 10.10.10.1 shutdown")
            lab.wait_ready(timeout_seconds=60)
        back = _wait(lambda: q(f"{ESG1} == 1"), 30, "ESG1 peer back at 1")
        assert [1.0] == list(back.values())
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
