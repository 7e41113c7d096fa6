"""Execute declared drill actions: local commands (optionally in a netns), signals, manual steps,
SSH."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from holdtime.drill.scenario import Action
from holdtime.errors import CommandTimeout, ConfigError, HoldtimeError

SshCommand = Callable[[str, str, float], Mapping[str, Any]]
"""(router name, command, timeout) -> {"exit_status": int, "output": str}."""

_OUTPUT_TAIL_CHARS = 2000


@dataclass
class DrillActionRunner:
    """Runs exactly the action it is given; nothing else is ever executed."""

    ssh: SshCommand | None = None
    ask: Callable[[str], str] = input
    out: TextIO = field(default_factory=lambda: sys.stderr)

    def run(self, action: Action) -> Mapping[str, Any]:
        """Run one action and report {exit_status, output}."""
        if action.kind == "exec":
            return self._exec(action)
        if action.kind == "signal":
            return signal_processes(action)
        if action.kind == "manual":
            print(f"\n>>> {action.prompt}", file=self.out, flush=True)
            try:
                self.ask(">>> press Enter when done ")
            except EOFError:
                raise ConfigError(
                    "a manual drill step needs a terminal (stdin is closed)"
                ) from None
            return {"exit_status": 0, "output": "operator confirmed"}
        if action.kind == "ssh":
            if self.ssh is None:
                raise ConfigError("ssh actions need the router transport")
            return dict(self.ssh(action.device, action.command, action.timeout_seconds))
        raise ConfigError(f"unknown action kind {action.kind!r}")

    def _exec(self, action: Action) -> Mapping[str, Any]:
        argv = list(action.argv)
        if action.netns:
            argv = ["ip", "netns", "exec", action.netns, *argv]
        try:
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=action.timeout_seconds,
                stdin=subprocess.DEVNULL,
                check=False,
                # Its own session: a Ctrl-C or a hang-up aimed at holdtime's terminal never
                # kills a restore half way (holdtime itself handles those signals).
                start_new_session=True,
            )
        except subprocess.TimeoutExpired:
            raise CommandTimeout(
                f"{action.describe()}: no exit within {action.timeout_seconds} s"
            ) from None
        except OSError as exc:
            raise HoldtimeError(f"{action.describe()}: {exc.strerror or exc}") from None
        output = (done.stdout + done.stderr)[-_OUTPUT_TAIL_CHARS:]
        return {"exit_status": done.returncode, "output": output}


def _netns_identity(path: Path) -> tuple[int, int]:
    status = path.stat()
    return status.st_dev, status.st_ino


def processes_in_netns(name: str, netns: str | None, proc: Path = Path("/proc")) -> list[int]:
    """Pids whose command name is exactly `name` and whose network namespace is `netns`.

    `netns` None means this process's own network namespace. Matching by namespace, not by
    name alone, keeps a lab's `bgpd` apart from the host's and from other labs'.
    """
    try:
        wanted = _netns_identity(
            Path("/run/netns") / netns if netns else proc / "self" / "ns" / "net"
        )
    except OSError:
        raise ConfigError(f"no network namespace named {netns!r}") from None
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != name:
                continue
            if _netns_identity(entry / "ns" / "net") == wanted:
                pids.append(int(entry.name))
        except OSError:
            continue  # the process exited while we looked, or is not ours to inspect
    return sorted(pids)


def signal_processes(action: Action) -> Mapping[str, Any]:
    """Send the action's signal to every matching process; an error when none matches."""
    number = signal.Signals[f"SIG{action.signal}"]
    pids = processes_in_netns(action.process, action.netns)
    if not pids:
        raise HoldtimeError(f"{action.describe()}: no such process")
    for pid in pids:
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            continue
        except PermissionError:
            raise HoldtimeError(f"{action.describe()}: not permitted for pid {pid}") from None
    return {
        "exit_status": 0,
        "output": f"SIG{action.signal} sent to pid {', '.join(map(str, pids))}",
    }
