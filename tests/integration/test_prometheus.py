"""The exporter against the real Prometheus 2.42 server, promtool and Pushgateway (loopback)."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
import yaml
from exporter_results import router_results, vsphere_results
from prometheus_client.parser import text_string_to_metric_families

from holdtime.checks.tcp import PortOpenCheck
from holdtime.errors import ConnectError
from holdtime.exporters.domain_metrics import SPECS
from holdtime.exporters.drill_record import DrillRecord, PathPhaseRecord
from holdtime.exporters.metrics import CachedExposition
from holdtime.exporters.pushgateway import push_drill
from holdtime.exporters.service import ExporterService, ServeOptions, build_service
from holdtime.exporters.sharding import hashmod
from holdtime.exporters.state import ResultStore
from holdtime.exporters.textfile import write_textfile
from holdtime.exporters.webconfig import load_web_config
from holdtime.inventory import Inventory
from holdtime.probes.tcp import TcpProbe
from holdtime.probes.tcp_config import TcpTarget

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "exporters" / "prometheus"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        not all(shutil.which(b) for b in ("prometheus", "promtool", "prometheus-pushgateway")),
        reason="needs Debian's prometheus and prometheus-pushgateway packages",
    ),
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
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


@dataclass
class PromServer:
    """A running Prometheus on loopback."""

    url: str
    process: subprocess.Popen[bytes]

    def query(self, expr: str) -> dict[str, float]:
        """Instant query -> {label-string: value} (labels job/instance dropped)."""
        data = _http_json(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
        out = {}
        for row in data["data"]["result"]:
            drop = ("job", "instance", "__name__")
            labels = {k: v for k, v in row["metric"].items() if k not in drop}
            key = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
            out[key] = float(row["value"][1])
        return out

    def targets(self) -> Any:
        return _http_json(f"{self.url}/api/v1/targets")["data"]


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[dict[str, Any]], PromServer]]:
    """Start real Prometheus servers with a given config; stop them afterwards."""
    started: list[subprocess.Popen[bytes]] = []

    def start(config: dict[str, Any]) -> PromServer:
        directory = tmp_path / f"prom{len(started)}"
        directory.mkdir()
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        port = _free_port()
        process = subprocess.Popen(
            [
                "prometheus",
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(directory / "prometheus.log").open("wb"),
        )
        started.append(process)
        url = f"http://127.0.0.1:{port}"
        _wait(
            lambda: urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200,
            30,
            "Prometheus ready",
        )
        return PromServer(url, process)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def _scrape_config(job: str, port: int, **extra: Any) -> dict[str, Any]:
    return {
        "job_name": job,
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "static_configs": [{"targets": [f"127.0.0.1:{port}"]}],
        **extra,
    }


@pytest.fixture
def tcp_world() -> Iterator[tuple[Inventory, socket.socket]]:
    """A real listener (open) and a closed port on loopback, as tcp inventory entries."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    closed = _free_port()
    entries = (
        TcpTarget("ldaps", "127.0.0.1", listener.getsockname()[1], timeout_seconds=1.0),
        TcpTarget("kmip", "127.0.0.1", closed, timeout_seconds=1.0),
    )
    inventory = Inventory(path=Path("tcp.yaml"), sections={"tcp": entries})
    yield inventory, listener
    listener.close()


@pytest.fixture
def service() -> Iterator[Callable[..., ExporterService]]:
    """Build and start ExporterServices on free loopback ports; stop them afterwards."""
    running: list[ExporterService] = []

    def start(inventory: Any, **options: Any) -> ExporterService:
        svc = build_service(
            inventory,
            ServeOptions(initial_spread_seconds=0.2, **options),
            probes={"tcp": TcpProbe()},
            checks={"tcp.port_open": PortOpenCheck()},
        )
        svc.start("127.0.0.1:0")
        running.append(svc)
        return svc

    yield start
    for svc in running:
        svc.stop(grace_seconds=5)


def test_prometheus_scrapes_check_status_and_sees_a_port_close(
    prometheus: Callable[[dict[str, Any]], PromServer],
    service: Callable[..., ExporterService],
    tcp_world: tuple[Inventory, socket.socket],
) -> None:
    """Prometheus sees open=pass, closed=fail; after the listener closes, open turns fail."""
    inventory, listener = tcp_world
    svc = service(inventory, interval_seconds=1.0)
    assert svc.server is not None
    prom = prometheus({"scrape_configs": [_scrape_config("holdtime", svc.server.port)]})
    _wait(lambda: prom.query('count_over_time(up{job="holdtime"}[1m]) >= 2'), 20, "two scrapes")
    open_target = f"ldaps/127.0.0.1:{inventory.of(TcpTarget)[0].port}"
    closed_target = f"kmip/127.0.0.1:{inventory.of(TcpTarget)[1].port}"
    current = 'holdtime_check_status{check="tcp.port_open"} == 1'
    before = _wait(lambda: len(prom.query(current)) == 2 and prom.query(current), 10, "statuses")
    listener.close()
    failing = 'holdtime_check_status{check="tcp.port_open",status="fail"} == 1'
    after = _wait(
        lambda: len(prom.query(failing)) == 2 and prom.query(current),
        15,
        "the closed listener to show as fail",
    )
    collectors = prom.query("holdtime_collector_up")
    fresh = prom.query("time() - holdtime_check_last_run_timestamp_seconds < 5")
    assert {
        f"check=tcp.port_open,device=ldaps,status=pass,target={open_target}": 1.0,
        f"check=tcp.port_open,device=kmip,status=fail,target={closed_target}": 1.0,
    } == before
    assert {
        f"check=tcp.port_open,device=ldaps,status=fail,target={open_target}": 1.0,
        f"check=tcp.port_open,device=kmip,status=fail,target={closed_target}": 1.0,
    } == after
    assert {
        f"collector=tcp,target={open_target}": 1.0,
        f"collector=tcp,target={closed_target}": 1.0,
    } == collectors
    assert 2 == len(fresh)


def test_prometheus_scrapes_over_tls_with_basic_auth(
    tmp_path: Path,
    prometheus: Callable[[dict[str, Any]], PromServer],
    service: Callable[..., ExporterService],
    tcp_world: tuple[Inventory, socket.socket],
) -> None:
    """Prometheus with the CA and password scrapes (up=1); a wrong password is up=0 (401)."""
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(tmp_path / "tls.key"),
            "-out",
            str(tmp_path / "tls.crt"),
        ],
        check=True,
        capture_output=True,
    )
    hashed = bcrypt.hashpw(b"scrape-pw", bcrypt.gensalt(rounds=4)).decode()
    (tmp_path / "web.yml").write_text(
        "tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n"
        f"basic_auth_users:\n  prometheus: '{hashed}'\n"
    )
    inventory, _ = tcp_world
    svc = service(inventory, interval_seconds=1.0, web=load_web_config(tmp_path / "web.yml"))
    assert svc.server is not None
    tls = {"scheme": "https", "tls_config": {"ca_file": str(tmp_path / "tls.crt")}}
    prom = prometheus(
        {
            "scrape_configs": [
                _scrape_config(
                    "right",
                    svc.server.port,
                    basic_auth={"username": "prometheus", "password": "scrape-pw"},
                    **tls,
                ),
                _scrape_config(
                    "wrong",
                    svc.server.port,
                    basic_auth={"username": "prometheus", "password": "nope"},
                    **tls,
                ),
                _scrape_config("plain", svc.server.port),
            ]
        }
    )
    _wait(lambda: prom.query("count(count_over_time(up[1m]) >= 2) == 3"), 20, "two scrapes each")
    health = {
        t["labels"]["job"]: (t["health"], "401" in t["lastError"])
        for t in prom.targets()["activeTargets"]
    }
    assert ({"": 1.0}, ("up", False), ("down", True), "down") == (
        prom.query('up{job="right"}'),
        health["right"],
        health["wrong"],
        health["plain"][0],
    )


def test_shard_split_matches_prometheus_hashmod(
    prometheus: Callable[[dict[str, Any]], PromServer],
) -> None:
    """Our hashmod(device, 3) equals what Prometheus' hashmod relabeling computes."""
    devices = [
        "vpc-router-1",
        "vpc-router-2",
        "esg1",
        "esg2",
        "vc-site-a",
        "dc1-ldaps",
        "dc1-dns",
        "",
        "ü-router",
        "a" * 80,
    ]
    port = _free_port()
    prom = prometheus(
        {
            "scrape_configs": [
                {
                    "job_name": "shards",
                    "scrape_interval": "1h",
                    "static_configs": [
                        {"targets": [f"127.0.0.1:{port}"], "labels": {"device": d}} for d in devices
                    ],
                    "relabel_configs": [
                        {
                            "source_labels": ["device"],
                            "modulus": 3,
                            "target_label": "shard",
                            "action": "hashmod",
                        }
                    ],
                }
            ]
        }
    )
    active = _wait(lambda: prom.targets()["activeTargets"], 10, "targets")
    theirs = {t["labels"].get("device", ""): int(t["labels"]["shard"]) for t in active}
    assert {d: hashmod(d, 3) for d in devices} == theirs


def _domain_snapshot_text() -> bytes:
    """The /metrics payload with every family populated, from the real checks' results."""
    store = ResultStore()
    # recorded FRR/swanctl output of vpc-router-1 and vcsim's healthy site (exporter_results.py)
    for key, batch in (
        ("router:vpc-router-1", router_results()),
        ("vsphere:vc-site-a", vsphere_results("healthy")),
    ):
        collector, _, target = key.partition(":")
        store.register(
            key,
            collector=collector,
            target=target,
            device=target,
            checks=sorted({r.check for r in batch}),
            interval_seconds=60,
        )
        store.put(key, batch, 0.5)
    return CachedExposition(store).body()[0]


# families every /metrics has besides the domain ones (exporters/metrics.py)
CHECK_FAMILIES = {
    "holdtime_check_status",
    "holdtime_check_duration_seconds",
    "holdtime_check_last_run_timestamp_seconds",
    "holdtime_collector_up",
    "holdtime_collector_duration_seconds",
    "holdtime_build_info",
}


def _promtool_check_metrics(text: bytes) -> tuple[int, str]:
    run = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, check=False
    )
    return run.returncode, (run.stdout + run.stderr).decode()


def test_promtool_check_metrics_is_clean_on_metrics_output() -> None:
    """`promtool check metrics` finds nothing to lint in /metrics with every family present."""
    text = _domain_snapshot_text()
    families = list(text_string_to_metric_families(text.decode()))
    names = {sample.name for family in families for sample in family.samples}
    wanted = CHECK_FAMILIES | {spec.metric for spec in SPECS}
    assert (0, "", set(), 23) == (
        *_promtool_check_metrics(text),
        wanted - names,  # a family no real result feeds
        len(families),  # 6 check/collector/build families + 17 domain families
    )


def test_promtool_check_metrics_is_clean_on_drill_textfile(tmp_path: Path) -> None:
    """The drill textfile passes `promtool check metrics` too."""
    record = DrillRecord(
        "esg1-silent",
        False,
        dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
        (PathPhaseRecord("app-to-db", "failover", {"loss": 8.8, "gap": 8.6}, 300, 44, 0.2, 5.0),),
    )
    path = write_textfile(tmp_path, record)
    assert (0, "") == _promtool_check_metrics(path.read_bytes())


def test_promtool_check_rules_passes() -> None:
    """`promtool check rules alerts.yml` succeeds and finds all 31 rules."""
    run = subprocess.run(
        ["promtool", "check", "rules", str(RULES / "alerts.yml")], capture_output=True, check=False
    )
    assert (0, True) == (run.returncode, "SUCCESS: 32 rules found" in run.stdout.decode())


def test_promtool_rule_unit_tests_cover_every_alert() -> None:
    """`promtool test rules` passes and every alert in alerts.yml has a test case."""
    run = subprocess.run(
        ["promtool", "test", "rules", str(RULES / "alerts_test.yml")],
        capture_output=True,
        check=False,
    )
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tests = yaml.safe_load((RULES / "alerts_test.yml").read_text())["tests"]
    fired = {
        case["alertname"] for t in tests for case in t["alert_rule_test"] if case["exp_alerts"]
    }
    assert (0, alerts) == (run.returncode, fired), run.stdout.decode() + run.stderr.decode()


@pytest.fixture
def pushgateway(tmp_path: Path) -> Iterator[str]:
    """A real Pushgateway on a free loopback port."""
    port = _free_port()
    process = subprocess.Popen(
        [
            "prometheus-pushgateway",
            f"--web.listen-address=127.0.0.1:{port}",
            # Debian's default persists to /var/lib/prometheus/pushgateway.data, shared by every
            # run on the machine: another run's groups would show up here
            f"--persistence.file={tmp_path / 'pushgateway.data'}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(
            lambda: urllib.request.urlopen(f"{url}/-/ready", timeout=2).status == 200,
            20,
            "Pushgateway ready",
        )
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_drill_push_lands_in_pushgateway_and_replaces_the_previous(pushgateway: str) -> None:
    """A pushed drill shows in the gateway's /metrics; a second push replaces the group."""
    finished = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    path = PathPhaseRecord("app-to-db", "failover", {"loss": 8.8, "gap": None}, 300, 44, 0.2)
    push_drill(pushgateway, DrillRecord("esg1-silent", False, finished, (path,)))
    fixed = PathPhaseRecord("app-to-db", "failover", {"loss": 0.4, "gap": 0.3}, 300, 2, 0.2)
    push_drill(pushgateway, DrillRecord("esg1-silent", True, finished, (fixed,)))
    with urllib.request.urlopen(f"{pushgateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    got = {
        (s.name, s.labels.get("method", "")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("holdtime_") and s.labels.get("drill") == "esg1-silent"
    }
    labels = next(
        s.labels
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "holdtime_drill_passed"
    )
    assert {
        ("holdtime_failover_outage_seconds", "loss"): 0.4,
        ("holdtime_failover_outage_seconds", "gap"): 0.3,
        ("holdtime_failover_probes_sent", ""): 300.0,
        ("holdtime_failover_probes_lost", ""): 2.0,
        ("holdtime_failover_probe_interval_seconds", ""): 0.2,
        ("holdtime_drill_last_run_timestamp_seconds", ""): finished.timestamp(),
        ("holdtime_drill_passed", ""): 1.0,
    } == got
    assert {"drill": "esg1-silent", "job": "holdtime_drill", "instance": ""} == labels


def test_push_to_a_dead_gateway_is_one_line_connect_error() -> None:
    """Nothing listening: ConnectError naming the URL, one line."""
    url = f"http://127.0.0.1:{_free_port()}"
    with pytest.raises(ConnectError) as caught:
        push_drill(
            url, DrillRecord("d", True, dt.datetime(2024, 5, 1, tzinfo=dt.UTC)), timeout_seconds=2
        )
    assert (True, 1) == (
        str(caught.value).startswith(f"pushgateway {url}: "),
        len(str(caught.value).splitlines()),
    )


_RUN_CLI = (
    "import sys\n"
    "from holdtime import cli\n"
    "if 'holdtime.cli.serve' not in cli.SUBCOMMAND_MODULES:\n"
    "    cli.SUBCOMMAND_MODULES = (*cli.SUBCOMMAND_MODULES, 'holdtime.cli.serve')\n"
    "sys.exit(cli.main(sys.argv[1:]))\n"
)


def test_holdtime_serve_process_is_scraped_and_stops_on_sigterm(
    tmp_path: Path,
    prometheus: Callable[[dict[str, Any]], PromServer],
    tcp_world: tuple[Inventory, socket.socket],
) -> None:
    """`holdtime serve -i inv.yaml --listen ...` is scraped by Prometheus; SIGTERM exits 0."""
    inventory, _ = tcp_world
    (tmp_path / "inventory.yaml").write_text(
        yaml.safe_dump(
            {
                "version": 1,
                "tcp": [
                    {"name": e.name, "host": e.host, "port": e.port}
                    for e in inventory.of(TcpTarget)
                ],
            }
        )
    )
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _RUN_CLI, "serve", "-i", str(tmp_path / "inventory.yaml"),
         "--listen", f"127.0.0.1:{port}", "--interval", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,  # not the checkout: `-c` puts the cwd first on sys.path
    )  # fmt: skip
    try:
        _wait(
            lambda: (
                urllib.request.urlopen(f"http://127.0.0.1:{port}/-/healthy", timeout=2).status
                == 200
            ),
            20,
            "holdtime serve healthy",
        )
        prom = prometheus({"scrape_configs": [_scrape_config("holdtime", port)]})
        passing = _wait(
            lambda: prom.query('holdtime_check_status{status="pass"} == 1'), 20, "a pass"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=15)
    stderr = process.stderr.read().decode() if process.stderr else ""
    open_target = f"ldaps/127.0.0.1:{inventory.of(TcpTarget)[0].port}"
    assert {f"check=tcp.port_open,device=ldaps,status=pass,target={open_target}": 1.0} == passing
    assert (0, True, True) == (
        code,
        f"http://127.0.0.1:{port}/metrics, 2 jobs every 1 s" in stderr,
        "holdtime serve: stopping" in stderr,
    ), stderr


def test_dashboard_and_alert_queries_are_valid_promql(
    prometheus: Callable[[dict[str, Any]], PromServer],
) -> None:
    """Real Prometheus accepts every dashboard and alert expression ($instance set to .*)."""
    dashboard = json.loads((RULES / "dashboard.json").read_text())
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ())]
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    prom = prometheus({"scrape_configs": []})
    statuses = {}
    for expr in exprs:
        query = urllib.parse.urlencode({"query": expr.replace("$instance", ".*")})
        try:
            statuses[expr] = _http_json(f"{prom.url}/api/v1/query?{query}")["status"]
        except urllib.error.HTTPError as exc:
            statuses[expr] = json.load(exc)["error"]
    assert (64, dict.fromkeys(statuses, "success")) == (len(exprs), statuses)
