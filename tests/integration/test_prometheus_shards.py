"""Two `holdtime serve --shard` over the same replayed routers, scraped by a real Prometheus.

Prometheus 2.42 runs the sharded scrape config of docs/exporter.md as written there (only the
exporters' addresses and the scrape interval are the test's); 60 copies of the recorded lab
router are served by one in-process replay.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from holdtime.exporters.sharding import hashmod
from holdtime.lab.replay import Replay
from holdtime.record import load_recording

REPO = Path(__file__).resolve().parents[2]
EXPORTER_DOC = REPO / "docs" / "exporter.md"
RECORDING = REPO / "tests" / "fixtures" / "recordings" / "lab-healthy"
HOLDTIME = str(Path(sys.executable).with_name("holdtime"))  # the installed console script
COPIES = 60
SHARDS = 2
# one series per router, whatever its BGP and IPsec state
PER_ROUTER = 'holdtime_check_last_run_timestamp_seconds{check="system.ip_forwarding"}'

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(not shutil.which("prometheus"), reason="needs Debian's prometheus package"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(
        f"{url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}), timeout=10
    ) as response:
        result: list[dict[str, Any]] = json.load(response)["data"]["result"]
        return result


def documented_sharded_config(addresses: list[str], scrape_interval: str) -> dict[str, Any]:
    """The one docs/exporter.md YAML block with `action: hashmod`, pointed at `addresses`."""
    blocks = re.findall(r"```yaml\n(.*?)```", EXPORTER_DOC.read_text(), re.S)
    documented = [b for b in blocks if "action: hashmod" in b]
    assert 1 == len(documented), f"{EXPORTER_DOC}: expected one sharded scrape config"
    config: dict[str, Any] = yaml.safe_load(documented[0])
    job = config["scrape_configs"][0]
    job["scrape_interval"] = scrape_interval
    by_shard = {int(c["labels"]["shard"]): c for c in job["static_configs"]}
    assert list(range(len(addresses))) == sorted(by_shard)
    for index, address in enumerate(addresses):
        by_shard[index]["targets"] = [address]
    return config


@pytest.fixture
def routers(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    """60 replayed copies of the lab router: (inventory path, router names)."""
    recording = load_recording(RECORDING)
    with Replay(recording, tmp_path / "replay", copies=COPIES, router="vpc-router-1") as replay:
        yield replay.inventory_path, [s.name for s in replay.routers]


@pytest.fixture
def processes() -> Iterator[Callable[[list[str], Path], subprocess.Popen[bytes]]]:
    """Start processes (stderr to a log file); terminate them afterwards."""
    started: list[subprocess.Popen[bytes]] = []
    # the replay answers the second IPsec read at once: a short sample keeps the rounds short
    env = {**os.environ, "HOLDTIME_TRAFFIC_SAMPLE_SECONDS": "0.2"}

    def start(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()
    for process in started:
        process.wait(timeout=30)


def test_two_shards_yield_each_router_exactly_once(
    tmp_path: Path,
    routers: tuple[Path, list[str]],
    processes: Callable[[list[str], Path], subprocess.Popen[bytes]],
) -> None:
    """Each router comes from exactly one shard, the one hashmod names, and none is dropped."""
    inventory, names = routers
    ports = [_free_port() for _ in range(SHARDS)]
    for index, port in enumerate(ports):
        processes(
            [
                HOLDTIME,
                "serve",
                "-i",
                str(inventory),
                "--listen",
                f"127.0.0.1:{port}",
                "--shard",
                f"{index}/{SHARDS}",
                "--no-probe-endpoint",
            ],
            tmp_path / f"serve-{index}.log",
        )
    config = documented_sharded_config([f"127.0.0.1:{p}" for p in ports], "1s")
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    prom_port = _free_port()
    processes(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        tmp_path / "prometheus.log",
    )
    url = f"http://127.0.0.1:{prom_port}"
    _wait(lambda: _query(url, "up"), 30, "Prometheus scraping the shards")
    deadline = time.monotonic() + 45  # then the assert below names the routers still missing
    while len(_query(url, PER_ROUTER)) < COPIES and time.monotonic() < deadline:
        time.sleep(0.5)
    time.sleep(2)  # two more scrapes: a router reported by a second shard would show by now
    series = _query(url, PER_ROUTER)
    scraped = _query(url, 'scrape_samples_scraped{job="holdtime"}')
    kept = _query(url, 'scrape_samples_post_metric_relabeling{job="holdtime"}')
    owner = {f"127.0.0.1:{port}": index for index, port in enumerate(ports)}
    seen: dict[str, list[int]] = {}
    for row in series:
        seen.setdefault(row["metric"]["device"], []).append(owner[row["metric"]["instance"]])
    assert {name: [hashmod(name, SHARDS)] for name in names} == seen
    assert {r["metric"]["instance"]: r["value"][1] for r in scraped} == {
        r["metric"]["instance"]: r["value"][1] for r in kept
    }
    labels = {label for row in series for label in row["metric"]}
    assert set() == labels & {"__tmp_owner", "shard"}
