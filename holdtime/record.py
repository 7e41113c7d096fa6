"""`holdtime record`: what each router answered to the commands of one check run, on disk.

The recording is made by the real router probe (:class:`holdtime.probes.router.RouterProbe`)
run by the real runner, with a session (:class:`RecordingSession`, an :class:`SshSession`)
that keeps every ``run()``: what is recorded is, by construction, exactly the command lines a
``holdtime check`` sends (the batched ``vtysh -E -c ... -c ...``, the ``sudo -n`` prefixes, the
second IPsec read of the traffic sample), in the order it sends them.

Layout (plain, sorted JSON, so two recordings diff line by line)::

    DIR/manifest.json         holdtime version, recorded_at (UTC), the inventory's router names,
                              the --only patterns, per router its platforms and tool versions seen
    DIR/routers/NAME.json     the router's inventory entry without anything about reaching it
                              (no host, port, user, auth, known_hosts, ssh_config, netns), every
                              command (line, stdout, stderr, exit_status, duration_seconds, or
                              the error that ended it) and the verdicts of that run

Never stored: passwords and key paths (the ``auth`` block is dropped; registered secrets are
redacted from outputs too), host keys (the replay generates its own), addresses.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from holdtime import __version__, redaction
from holdtime.errors import CommandTimeout, ConfigError, TransportError
from holdtime.probes.router_config import Router
from holdtime.probes.ssh import CommandOutput, SshParams, SshSession

if TYPE_CHECKING:
    from holdtime.inventory import Inventory
    from holdtime.models import RunResult
    from holdtime.plugins import Probe

MANIFEST = "manifest.json"
ROUTERS_DIR = "routers"
FORMAT_VERSION = 1

# Version strings the recorded outputs may carry, one regex per tool, each with a sample.
_VERSION_PATTERNS = {
    # Status of IKE charon daemon (strongSwan 5.9.8, Linux 6.1.0-18-amd64, x86_64):
    "strongswan": re.compile(r"strongSwan (\d+\.\d+[\w.]*)"),
    # FRRouting 8.4.4 (router) on Linux(6.1.0-18-amd64).
    "frr": re.compile(r"FRRouting (\d+\.\d+[\w.-]*)"),
    # Libreswan 4.10
    "libreswan": re.compile(r"Libreswan (\d+\.\d+[\w.]*)"),
}


@dataclass(frozen=True, slots=True)
class Recorded:
    """One command as the router answered it (or the transport error that ended it)."""

    command: str
    stdout: str = ""
    stderr: str = ""
    exit_status: int | None = None  # None: the command ended with `error`, not an exit
    duration_seconds: float = 0.0
    error: str = ""  # CommandTimeout / ConnectError text; the replay reproduces timeouts
    timed_out: bool = False

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "command": self.command,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_status": self.exit_status,
            "duration_seconds": round(self.duration_seconds, 4),
        }
        if self.error:
            data["error"] = self.error
            data["timed_out"] = self.timed_out
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> Recorded:
        try:
            status = data["exit_status"]
            return cls(
                command=str(data["command"]),
                stdout=str(data.get("stdout", "")),
                stderr=str(data.get("stderr", "")),
                exit_status=None if status is None else int(status),
                duration_seconds=float(data.get("duration_seconds", 0.0)),
                error=str(data.get("error", "")),
                timed_out=bool(data.get("timed_out", False)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(
                f"{where}: a command entry is not readable ({exc}); record again"
            ) from None


class Book:
    """Every recorded command, per device, in the order each device received them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.commands: dict[str, list[Recorded]] = {}

    def add(self, device: str, entry: Recorded) -> None:
        with self._lock:
            self.commands.setdefault(device, []).append(entry)

    def session_factory(self) -> Callable[[SshParams], SshSession]:
        """What RouterProbe(session_factory=...) takes: real sessions that record."""
        return lambda params: RecordingSession(params, self)


class RecordingSession(SshSession):
    """An SshSession that writes every command and its answer into a :class:`Book`."""

    def __init__(self, params: SshParams, book: Book) -> None:
        super().__init__(params)
        self._book = book

    def run(self, command: str, timeout_seconds: float | None = None) -> CommandOutput:
        began = time.monotonic()
        try:
            out = super().run(command, timeout_seconds)
        except TransportError as exc:
            self._book.add(
                self.params.device,
                Recorded(
                    command=command,
                    duration_seconds=time.monotonic() - began,
                    error=redaction.redact(str(exc)),
                    timed_out=isinstance(exc, CommandTimeout),
                ),
            )
            raise
        self._book.add(
            self.params.device,
            Recorded(
                command=out.command,
                stdout=redaction.redact(out.stdout),
                stderr=redaction.redact(out.stderr),
                exit_status=out.exit_status,
                duration_seconds=out.duration_seconds,
            ),
        )
        return out


# -- the router's inventory entry, without how it is reached ------------------------------
def router_entry(router: Router) -> dict[str, object]:
    """The inventory YAML of a router minus transport (host, user, auth, keys, netns).

    Built from the typed Router (defaults already applied), in the inventory's own keys, so a
    replay inventory reproduces the expectations and timeouts of the recorded run.
    """
    bgp = router.expect.bgp
    expect: dict[str, object] = {}
    bgp_entry: dict[str, object] = {}
    if bgp.neighbors:
        bgp_entry["neighbors"] = [
            {
                key: value
                for key, value in (
                    ("address", n.address),
                    ("remote_as", n.remote_as),
                    ("prefixes_received", list(n.prefixes_received)),
                    ("prefixes_sent", list(n.prefixes_sent)),
                    ("description", n.description),
                )
                if value not in (None, "", [])
            }
            for n in bgp.neighbors
        ]
    if bgp.best_paths:
        bgp_entry["best_paths"] = [{"prefix": b.prefix, "via": b.via} for b in bgp.best_paths]
    bgp_entry["max_hold_time_seconds"] = bgp.max_hold_time_seconds
    if bgp.bfd is not None:
        bgp_entry["bfd"] = bgp.bfd
    expect["bgp"] = bgp_entry
    if router.expect.ipsec.tunnels:
        expect["ipsec"] = {"tunnels": list(router.expect.ipsec.tunnels)}
    if router.expect.ip_forwarding is not None:
        expect["ip_forwarding"] = router.expect.ip_forwarding
    entry: dict[str, object] = {
        "name": router.name,
        "platform": list(router.platforms),
        "sudo": router.sudo,
        "timeouts": {
            "connect_seconds": router.connect_timeout_seconds,
            "command_seconds": router.command_timeout_seconds,
        },
    }
    if router.swanctl_uris:
        entry["swanctl_uris"] = list(router.swanctl_uris)
    entry["ipsec_interface"] = router.ipsec_interface
    entry["expect"] = expect
    return entry


def tool_versions(commands: Sequence[Recorded]) -> dict[str, str]:
    """Tool versions the outputs show (strongSwan's statusall, FRR's show version ...)."""
    seen: dict[str, str] = {}
    for entry in commands:
        for tool, pattern in _VERSION_PATTERNS.items():
            match = pattern.search(entry.stdout)
            if match and tool not in seen:
                seen[tool] = match.group(1)
    return seen


# -- writing and reading a recording -------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RouterRecording:
    """One router's file of a recording."""

    name: str
    entry: Mapping[str, object]
    commands: tuple[Recorded, ...]
    verdicts: tuple[Mapping[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Recording:
    """A recording folder, read back."""

    path: Path
    manifest: Mapping[str, Any]
    routers: tuple[RouterRecording, ...]

    def router(self, name: str) -> RouterRecording:
        for router in self.routers:
            if router.name == name:
                return router
        names = ", ".join(r.name for r in self.routers)
        raise ConfigError(f"{self.path}: no router {name!r} in this recording (it has {names})")


def _file_name(name: str) -> str:
    # Router names are inventory names (letters, digits, - _ .): safe as file names.
    return f"{name}.json"


def _dump(data: object) -> str:
    return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def record(
    inventory: Inventory,
    out: Path,
    *,
    only: Sequence[str] = (),
    max_workers: int = 64,
) -> tuple[Recording, RunResult]:
    """Run the router checks of an inventory once, recording every command; write DIR."""
    from holdtime.probes.router import RouterProbe
    from holdtime.runner import run_checks

    _prepare(out)
    book = Book()
    # cast: RouterProbe.section is a plain class attribute, the Protocol's is mutable (invariant).
    probe = cast("Probe[Router]", RouterProbe(session_factory=book.session_factory()))
    started = dt.datetime.now(dt.UTC)
    run = run_checks(inventory, only=only, probes={"router": probe}, max_workers=max_workers)
    routers = inventory.of(Router)
    verdicts: dict[str, list[dict[str, str]]] = {}
    for result in run.results:
        verdicts.setdefault(result.device, []).append(
            {
                "check": result.check,
                "target": result.target,
                "status": result.status.value,
                "summary": redaction.redact(result.summary),
            }
        )
    recorded: list[RouterRecording] = []
    (out / ROUTERS_DIR).mkdir(parents=True, exist_ok=True)
    for router in routers:
        commands = tuple(book.commands.get(router.name, ()))
        item = RouterRecording(
            name=router.name,
            entry=router_entry(router),
            commands=commands,
            verdicts=tuple(verdicts.get(router.name, ())),
        )
        recorded.append(item)
        (out / ROUTERS_DIR / _file_name(router.name)).write_text(
            _dump(
                {
                    "name": item.name,
                    "inventory": item.entry,
                    "commands": [c.to_json() for c in item.commands],
                    "verdicts": list(item.verdicts),
                }
            )
        )
    manifest = {
        "format": FORMAT_VERSION,
        "holdtime_version": __version__,
        "recorded_at": started.isoformat(timespec="seconds"),
        "duration_seconds": round((dt.datetime.now(dt.UTC) - started).total_seconds(), 3),
        "only": list(only),
        "inventory_routers": [r.name for r in routers],
        "routers": {
            item.name: {
                "file": f"{ROUTERS_DIR}/{_file_name(item.name)}",
                "platforms": list(r.platforms),
                "commands": len(item.commands),
                "tool_versions": tool_versions(item.commands),
            }
            for item, r in zip(recorded, routers, strict=True)
        },
    }
    (out / MANIFEST).write_text(_dump(manifest))
    return Recording(path=out, manifest=manifest, routers=tuple(recorded)), run


def _prepare(out: Path) -> None:
    """An empty or new folder, or a previous recording (whose router files are replaced)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; give a folder for the recording")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MANIFEST).exists():
            raise ConfigError(
                f"{out} is not empty and holds no recording ({MANIFEST}); give a new folder"
            )
        for stale in (out / ROUTERS_DIR).glob("*.json"):
            stale.unlink()
    out.mkdir(parents=True, exist_ok=True)


def load_recording(path: Path) -> Recording:
    """Read a recording folder; ConfigError naming the file for anything unreadable."""
    manifest_path = path / MANIFEST
    manifest = _read_json(manifest_path)
    if not isinstance(manifest, dict) or not isinstance(manifest.get("routers"), dict):
        raise ConfigError(f"{manifest_path}: not a holdtime recording manifest (no routers)")
    if manifest.get("format") != FORMAT_VERSION:
        raise ConfigError(
            f"{manifest_path}: recording format {manifest.get('format')!r}, this holdtime reads "
            f"{FORMAT_VERSION}; record again"
        )
    routers: list[RouterRecording] = []
    for name, info in manifest["routers"].items():
        file = path / str(info.get("file", f"{ROUTERS_DIR}/{_file_name(name)}"))
        data = _read_json(file)
        if not isinstance(data, dict) or not isinstance(data.get("commands"), list):
            raise ConfigError(f"{file}: not a router recording (no commands list)")
        entry = data.get("inventory")
        if not isinstance(entry, dict):
            raise ConfigError(f"{file}: no inventory entry; record again")
        routers.append(
            RouterRecording(
                name=str(name),
                entry=entry,
                commands=tuple(Recorded.from_json(c, str(file)) for c in data["commands"]),
                verdicts=tuple(data.get("verdicts", ())),
            )
        )
    return Recording(path=path, manifest=manifest, routers=tuple(routers))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: missing; is {path.parent} a holdtime recording?") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}:{exc.lineno}: not JSON ({exc.msg})") from None
