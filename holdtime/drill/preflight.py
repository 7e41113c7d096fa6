"""Everything a drill needs, checked before its destructive part: a failure here is one line,
exit 2, and the trigger never runs.

What is checked: the --textfile directory takes a file, the --pushgateway answers `/-/ready`,
every local action's network namespace exists and its program is on the PATH.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from holdtime.drill.scenario import Action, Scenario
from holdtime.errors import ConfigError

NETNS_DIR = Path("/run/netns")


def check_textfile_dir(directory: Path) -> None:
    """The directory exists and a file can be created in it (node_exporter's textfile dir)."""
    if not directory.is_dir():
        raise ConfigError(f"--textfile {directory}: no such directory")
    try:
        fd, name = tempfile.mkstemp(dir=directory, prefix=".holdtime-preflight.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"--textfile {directory}: cannot write there ({exc.strerror})") from None
    os.close(fd)
    Path(name).unlink(missing_ok=True)


def check_pushgateway(url: str, timeout_seconds: float = 5.0) -> None:
    """The Pushgateway at `url` answers GET /-/ready with 200."""
    base = url if "://" in url else f"http://{url}"
    ready = base.rstrip("/") + "/-/ready"
    try:
        with urlopen(ready, timeout=timeout_seconds) as response:  # noqa: S310 - operator's URL
            status = int(response.status)
    except HTTPError as exc:
        raise ConfigError(
            f"--pushgateway {url}: {ready} answered HTTP {exc.code}: is it a Pushgateway?"
        ) from None
    except (URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ConfigError(f"--pushgateway {url}: not reachable ({reason})") from None
    if status != 200:
        raise ConfigError(f"--pushgateway {url}: {ready} answered HTTP {status}")


def check_local_action(role: str, action: Action, netns_dir: Path = NETNS_DIR) -> None:
    """A local action's namespace exists and its program can be found."""
    if action.kind not in ("exec", "signal"):
        return
    if action.netns and not (netns_dir / action.netns).exists():
        raise ConfigError(
            f"{role} {action.describe()}: no network namespace {action.netns!r} "
            "(see `ip netns list`)"
        )
    if action.kind == "exec" and action.argv:
        program = action.argv[0]
        found = os.access(program, os.X_OK) if "/" in program else shutil.which(program)
        if not found:
            raise ConfigError(f"{role} {action.describe()}: program {program!r} not found")


def preflight(
    scenario: Scenario, *, textfile_dir: Path | None = None, pushgateway: str | None = None
) -> None:
    """Raise a one-line ConfigError for the first thing the drill would trip over."""
    for role, action in (("trigger", scenario.trigger), ("restore", scenario.restore)):
        check_local_action(role, action)
        verify = action.verify_action()
        if verify is not None:
            check_local_action(f"{role} verify", verify)
    if textfile_dir is not None:
        check_textfile_dir(textfile_dir)
    if pushgateway is not None:
        check_pushgateway(pushgateway)
