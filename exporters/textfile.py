"""Write drill metrics as a .prom file for node_exporter's textfile collector, atomically.

node_exporter reads every ``*.prom`` file in its directory at each scrape; a half-written
file would be a scrape error. So we write a hidden temporary file in the same directory (same
filesystem, so the rename is atomic), fsync it, make it world-readable (node_exporter usually
runs as another user, and mkstemp creates 0600) and rename it over the final name.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from holdtime.errors import ConfigError
from holdtime.exporters.drill_record import DrillRecord, drill_registry


def textfile_name(drill: str) -> str:
    """`holdtime_drill_<drill>.prom`, with anything but [A-Za-z0-9_-] replaced by `_`."""
    return f"holdtime_drill_{re.sub(r'[^A-Za-z0-9_-]', '_', drill)}.prom"


def write_textfile(directory: Path, record: DrillRecord) -> Path:
    """Atomically write DIR/holdtime_drill_<drill>.prom; returns its path."""
    from prometheus_client import generate_latest

    payload = bytes(generate_latest(drill_registry([record])))
    final = directory / textfile_name(record.drill)
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{final.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write textfile into {directory}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, final)
    except OSError as exc:
        Path(tmp_name).unlink(missing_ok=True)
        raise ConfigError(f"cannot write textfile {final}: {exc.strerror}") from None
    return final
