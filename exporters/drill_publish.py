"""`holdtime drill --textfile DIR --pushgateway URL`: publish a finished drill for Prometheus."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from holdtime.exporters.drill_record import DrillRecord

if TYPE_CHECKING:
    from holdtime.drill.result import DrillResult


def publish_drill(
    result: DrillResult | DrillRecord,
    *,
    textfile_dir: Path | None = None,
    pushgateway: str | None = None,
) -> DrillRecord | None:
    """Write the textfile and/or push, from a DrillResult or a ready DrillRecord.

    A drill that measured nothing (stopped before its trigger) publishes nothing and returns
    None: the textfile and the Pushgateway group keep the last real run's figures.
    """
    record = result if isinstance(result, DrillRecord) else DrillRecord.from_drill_result(result)
    if not record.measured:
        return None
    if textfile_dir is not None:
        from holdtime.exporters.textfile import write_textfile

        write_textfile(textfile_dir, record)
    if pushgateway is not None:
        from holdtime.exporters.pushgateway import push_drill

        push_drill(pushgateway, record)
    return record
