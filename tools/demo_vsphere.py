"""`make demo` step: run holdtime's vSphere and kms checks against vcsim with TLS verified.

Builds the vcsim launcher offline (tests/vcsim/build.sh), builds a small scenario with known
problems (tests/vcsim/vcsim_scenarios.py), serves it on 127.0.0.1 with an openssl self-signed
certificate, writes a vcenter inventory that trusts exactly that certificate (``ca_file``) and
takes the password from an environment variable, then runs ``holdtime check`` on it: the table
to stdout, HTML into the output folder. The scenario is built to FAIL/WARN; the exit status says
whether the findings were the intended ones (0), differed (1), or a check errored (2).

Then the same for the key providers (``kms.*``): a second vcsim with holdtime's crypto manager
(tests/vcsim/kms.go), started after the first has stopped (the pidfile names the running one).

Usage: python3 tools/demo_vsphere.py --out DIR --work DIR [--pidfile FILE]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PASSWORD_ENV = "HOLDTIME_DEMO_VC_PASSWORD"  # noqa: S105 - a variable name, not a secret
VCENTER = "vc-demo"

# (check, target) -> status the demo scenario is built to produce; everything else must PASS/SKIP.
INTENDED: dict[tuple[str, str], str] = {
    ("sioc.enabled", f"{VCENTER}/ds:nfs3-legacy"): "fail",  # NFS 3 without SIOC
    ("nfs.multipath", f"{VCENTER}/ds:nfs41-single"): "fail",  # 4.1 with one server address
    ("sioc.enabled", f"{VCENTER}/ds:nfs41-single"): "warn",  # SIOC unsupported on NFS 4.1
    ("vds.iphash_teaming", f"{VCENTER}/dvs:dvs-prod"): "fail",  # IP hash vs the switch's LAG
}

KMS_INTENDED: dict[tuple[str, str], str] = {
    ("kms.client_certificate", f"{VCENTER}/kp-prod"): "warn",  # expires in 10 days
    ("kms.provider_redundant", f"{VCENTER}/kp-dr"): "fail",  # one KMIP server
    ("kms.servers_connected", f"{VCENTER}/kp-prod/kms-prod-2"): "fail",  # refused, per vCenter
    ("kms.protected_objects", f"{VCENTER}/kp-retired"): "fail",  # VM of a removed provider
}


def load_scenarios() -> ModuleType:
    """Import tests/vcsim/vcsim_scenarios.py (not a package) under its own name."""
    name = "vcsim_scenarios"
    spec = importlib.util.spec_from_file_location(
        name, REPO / "tests" / "vcsim" / "vcsim_scenarios.py"
    )
    if spec is None or spec.loader is None:
        raise RuntimeError("cannot load tests/vcsim/vcsim_scenarios.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def demo_scenario(sc: ModuleType) -> Any:
    """One healthy NFS 3 datastore and three intended problems (see INTENDED)."""
    return sc.Scenario(
        "demo",
        nfs=(
            sc.Nfs("nfs3-gold", "3", ("10.0.0.11",), "/vol/gold", sioc=sc.SIOC_OK),
            sc.Nfs("nfs3-legacy", "3", ("10.0.0.12",), "/vol/legacy", sioc=sc.SIOC_OFF),
            sc.Nfs("nfs41-single", "4.1", ("10.0.0.41",), "/vol/single"),
        ),
        dvs=(
            sc.Dvs(
                "dvs-prod",
                portgroups=(("pg-storage", "loadbalance_ip"), ("pg-vm", "loadbalance_srcid")),
                teaming={0: sc.MATCH, 1: "iphashMismatch", 2: sc.MATCH},
                mtu_mismatch=dict.fromkeys(range(3), False),
            ),
        ),
    )


def kms_scenario(sc: ModuleType) -> Any:
    """Two providers, one default; the intended problems of KMS_INTENDED."""
    prod = sc.KeyProvider(
        "kp-prod",
        (
            sc.KmipServer("kms-prod-1", "kms-prod-1.example.net"),
            sc.KmipServer(
                "kms-prod-2",
                "kms-prod-2.example.net",
                status="red",
                connection="Cannot establish connection with KMS: connection refused",
            ),
        ),
        default=True,
        client_cert_days=10,
    )
    dr = sc.KeyProvider("kp-dr", (sc.KmipServer("kms-dr-1", "kms-dr-1.example.net"),))
    return sc.KmsScenario(
        "kms-demo", (prod, dr), vms=((0, "kp-prod"), (1, "kp-retired")), hosts=((0, "kp-prod"),)
    )


def write_inventory(
    path: Path, host: str, port: int, username: str, ca_file: Path, kms: bool = False
) -> None:
    """A vcenters inventory: TLS verified against ca_file, password from PASSWORD_ENV."""
    kms_section = (
        "kms:\n"
        f"  - vcenter: {VCENTER}\n"
        "    default_provider: kp-prod\n"
        "    providers:\n"
        "      - {name: kp-prod, servers: [kms-prod-1, kms-prod-2]}\n"
        "      - {name: kp-dr, servers: [kms-dr-1]}\n"
    )
    path.write_text(
        "# Written by tools/demo_vsphere.py for `make demo`: vcsim on loopback.\n"
        "vcenters:\n"
        f"  - name: {VCENTER}\n"
        f"    host: {host}\n"
        f"    port: {port}\n"
        f"    username: {username}\n"
        f"    password_env: {PASSWORD_ENV}   # never the password itself\n"
        "    verify_tls: true\n"
        f"    ca_file: {ca_file}\n" + (kms_section if kms else ""),
        encoding="utf-8",
    )


def holdtime(*args: str, env: dict[str, str]) -> int:
    """Run the installed `holdtime` CLI (from PATH), output straight to the terminal."""
    sys.stdout.flush()
    return subprocess.run(["holdtime", *args], env=env, check=False).returncode


def print_reasons(results: list[dict[str, Any]]) -> None:
    """The FAIL/WARN results' reasons, one wrapped paragraph each (the table shows summaries)."""
    print("\nwhy:")
    for r in results:
        if r["status"] in ("fail", "warn"):
            head = f"  {r['status'].upper()} {r['check']} {r['target']}: "
            for reason in r["reasons"]:
                print(
                    textwrap.fill(
                        reason, width=100, initial_indent=head, subsequent_indent="      "
                    )
                )


def compare(
    results: list[dict[str, Any]], intended: dict[tuple[str, str], str] = INTENDED
) -> list[str]:
    """Differences between the run's statuses and `intended` (empty: exactly as designed)."""
    seen = {(r["check"], r["target"]): r["status"] for r in results}
    problems = [
        f"{check} {target}: expected {status}, got {seen.get((check, target), 'no result')}"
        for (check, target), status in intended.items()
        if seen.get((check, target)) != status
    ]
    problems += [
        f"{check} {target}: unexpected {status}"
        for (check, target), status in sorted(seen.items())
        if (check, target) not in intended and status not in ("pass", "skip")
    ]
    return problems


def run_kms(sc: ModuleType, args: argparse.Namespace, cert: Path, key: Path, ca: Path) -> int:
    """The kms step: vcsim with a crypto manager, `holdtime check --only 'kms.*'`, compare."""
    kms_args = sc.kms_args(kms_scenario(sc), args.work / "kms")
    sim = sc.start((*kms_args, "-tlscert", str(cert), "-tlskey", str(key)))
    try:
        if args.pidfile is not None:
            args.pidfile.write_text(f"{sim.process.pid}\n", encoding="utf-8")
        print(f"\nvcsim {sim.url} with a crypto manager: 2 key providers, 3 KMIP servers")
        inventory = args.out / "kms-inventory.yaml"
        write_inventory(inventory, sim.host, sim.port, sc.USERNAME, ca.resolve(), kms=True)
        env = {**os.environ, PASSWORD_ENV: sc.PASSWORD}
        inv = str(inventory)
        if holdtime("inventory", "validate", inv, env=env) != 0:
            return 2
        only = ("--only", "kms.*")
        table = holdtime("check", "-i", inv, *only, env=env)
        report_json = args.work / "kms.json"
        quiet = ("check", "-i", inv, *only, "--quiet")
        holdtime(*quiet, "--format", "html", "--output", str(args.out / "kms.html"), env=env)
        holdtime(*quiet, "--format", "json", "--output", str(report_json), env=env)
    finally:
        sim.stop()
        if args.pidfile is not None:
            args.pidfile.unlink(missing_ok=True)
    if table == 2 or not report_json.exists():
        print("demo_vsphere: a kms check ERRORed (see the table above)", file=sys.stderr)
        return 2
    results = json.loads(report_json.read_text(encoding="utf-8"))["results"]
    print_reasons(results)
    problems = compare(results, KMS_INTENDED)
    for problem in problems:
        print(f"demo_vsphere: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"the {len(KMS_INTENDED)} intended kms findings are there, every other PASS/SKIP")
    return 0


def _terminate(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM from the demo's trap: unwind so the `finally` stops vcsim.
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Build, serve, check, stop; return 0 intended findings, 1 other findings, 2 errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="demo output folder")
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (scenario, key)")
    parser.add_argument("--pidfile", type=Path, help="write vcsim's pid here (for the trap)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    sc = load_scenarios()
    reason = sc.environment_ready()
    if reason is not None:
        print(f"demo_vsphere: vcsim cannot be built: {reason}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    sc.ensure_binary()  # tests/vcsim/build.sh: ~25 s the first time, then a no-op
    inventory_dir = sc.build(demo_scenario(sc), args.work / "scenario")
    cert, key = sc.ensure_tls_cert(args.work / "tls")
    ca_file = args.out / "vcsim-ca.pem"  # self-signed: the certificate is its own CA
    ca_file.write_bytes(cert.read_bytes())
    sim = sc.start(("-load", str(inventory_dir), "-tlscert", str(cert), "-tlskey", str(key)))
    try:
        if args.pidfile is not None:
            args.pidfile.write_text(f"{sim.process.pid}\n", encoding="utf-8")
        print(f"vcsim {sim.url} (TLS, self-signed certificate for 127.0.0.1)")
        inventory = args.out / "vcenter-inventory.yaml"
        write_inventory(inventory, sim.host, sim.port, sc.USERNAME, ca_file.resolve())
        print(f"inventory {inventory}: verify_tls + ca_file, password from ${PASSWORD_ENV}")
        env = {**os.environ, PASSWORD_ENV: sc.PASSWORD}
        inv = str(inventory)
        if holdtime("inventory", "validate", inv, env=env) != 0:
            return 2
        table = holdtime("check", "-i", inv, env=env)
        report_json = args.work / "vsphere.json"
        quiet = ("check", "-i", inv, "--quiet")
        holdtime(*quiet, "--format", "html", "--output", str(args.out / "vsphere.html"), env=env)
        holdtime(*quiet, "--format", "json", "--output", str(report_json), env=env)
    finally:
        sim.stop()
        if args.pidfile is not None:
            args.pidfile.unlink(missing_ok=True)
    if table == 2 or not report_json.exists():
        print("demo_vsphere: a vSphere check ERRORed (see the table above)", file=sys.stderr)
        return 2
    results = json.loads(report_json.read_text(encoding="utf-8"))["results"]
    print_reasons(results)
    problems = compare(results)
    for problem in problems:
        print(f"demo_vsphere: {problem}", file=sys.stderr)
    if not problems:
        print(f"the {len(INTENDED)} intended findings are there, every other check PASS/SKIP")
    kms = run_kms(sc, args, cert, key, ca_file)
    return max(1 if problems else 0, kms)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # vcsim is already stopped (finally). Die by SIGINT, not exit(130): the calling shell then
        # knows the user pressed ^C and stops too, instead of going on with its next step.
        print("demo_vsphere: interrupted", file=sys.stderr)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
