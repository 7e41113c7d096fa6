"""The lab's key server: PyKMIP's KmipServer in a process of its own on the kms node (5696).

`prepare_kms(folder, tls, address)` writes PyKMIP's own configuration file (`server.conf`, its
`[server]` section: the certificate, key and CA, TLS client authentication on, the SQLite
database, the policy folder) into the node's state folder and returns the argv that serves it:
this module run by the same Python (`python -P -m holdtime.lab.kms server.conf server.log`), which
hands the file to `KmipServer(config_path=...)` and serves until SIGTERM. The lab spawns and
records that process itself (its pid, its namespace) and waits with `await_kms` until the
listener accepts; `import kmip` costs about 1.4 s of CPU (SQLAlchemy), so the lab starts it
before the tunnels and waits for it last.

Why not PyKMIP's `pykmip-server` script: it always starts the live policy monitor (a second
process polling the policy folder) and reads /etc/pykmip/server.conf unless told otherwise;
the lab needs neither. The server certificate is RSA, as in PyKMIP's own examples and the
tests' server (tests/integration/kmip_server.py); its TLS1.2 suite lists AES128-SHA256 (RSA key
transport) first.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from holdtime.lab.processes import alive, zombie

AUTH_SUITE = "TLS1.2"


@dataclass(frozen=True, slots=True)
class KmsTls:
    """The PEM files PyKMIP serves TLS with, and the CA its clients' certificates must chain to."""

    cert_path: Path
    key_path: Path
    ca_path: Path


def server_conf(folder: Path, tls: KmsTls, address: str, port: int) -> str:
    """PyKMIP's `server.conf` (configparser, section `[server]`) for the lab's key server."""
    return (
        "[server]\n"
        f"hostname={address}\n"
        f"port={port}\n"
        f"certificate_path={tls.cert_path}\n"
        f"key_path={tls.key_path}\n"
        f"ca_path={tls.ca_path}\n"
        f"auth_suite={AUTH_SUITE}\n"
        f"policy_path={folder / 'policies'}\n"
        "enable_tls_client_auth=True\n"
        "logging_level=INFO\n"
        f"database_path={folder / 'pykmip.sqlite'}\n"
    )


def prepare_kms(folder: Path, tls: KmsTls, address: str, port: int) -> list[str]:
    """Write server.conf and the (empty) policy folder into `folder`; return the server's argv."""
    (folder / "policies").mkdir(parents=True, exist_ok=True)
    conf = folder / "server.conf"
    conf.write_text(server_conf(folder, tls, address, port))
    # -W ignore: PyKMIP 0.11 warns about its own deprecated imports on every start
    return [
        sys.executable,
        "-P",  # never the checkout's source folder when `up` runs from it: the installed copy
        "-W",
        "ignore",
        "-m",
        "holdtime.lab.kms",
        str(conf),
        str(folder / "server.log"),
    ]


def await_kms(
    pid: int, address: str, port: int, netns: str | None, timeout_seconds: float = 20.0
) -> bool:
    """Until the server accepts TCP on address:port (True), or `pid` exits or time is up."""
    from holdtime import netns as netns_module

    give_up = time.monotonic() + timeout_seconds
    while time.monotonic() < give_up:
        if not alive(pid) or zombie(pid):
            return False
        try:
            netns_module.create_connection((address, port), 0.5, netns).close()
        except OSError:
            time.sleep(0.05)
            continue
        return True
    return False


def serve(conf: Path, log: Path) -> None:
    """Run PyKMIP's KmipServer from `conf` until SIGTERM or SIGINT (it installs the handlers)."""
    from kmip.services.server import KmipServer

    server = KmipServer(config_path=str(conf), log_path=str(log))
    with server:
        # PyKMIP 0.11's handler only clears a flag on SIGTERM, seen when accept() returns; its
        # listener times out after 10 s (setdefaulttimeout(10) in start()), longer than the
        # lab's 3 s grace before SIGKILL. Polling at 0.2 s stops it cleanly in well under that;
        # accepted sessions keep PyKMIP's own timeout.
        server._socket.settimeout(0.2)  # no public knob for the listener
        server.serve()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m holdtime.lab.kms SERVER_CONF LOG_FILE")
    serve(Path(sys.argv[1]), Path(sys.argv[2]))
