"""Push drill metrics to a Prometheus Pushgateway.

One group per drill (``job="holdtime_drill", drill=<name>``), replaced on each push (HTTP PUT),
so the gateway always holds the last run of every drill and nothing else.
"""

from __future__ import annotations

from urllib.error import HTTPError, URLError

from holdtime.errors import ConnectError
from holdtime.exporters.drill_record import DrillRecord, drill_registry

PUSH_JOB = "holdtime_drill"


def push_drill(url: str, record: DrillRecord, timeout_seconds: float = 10.0) -> None:
    """PUT the drill's metrics to the Pushgateway at `url`; failures are one-line ConnectError."""
    from prometheus_client import push_to_gateway

    try:
        push_to_gateway(
            url,
            job=PUSH_JOB,
            registry=drill_registry([record]),
            grouping_key={"drill": record.drill},
            timeout=timeout_seconds,
        )
    except HTTPError as exc:
        raise ConnectError(f"pushgateway {url}: HTTP {exc.code} {exc.reason}") from None
    except URLError as exc:
        raise ConnectError(f"pushgateway {url}: {exc.reason}") from None
    except OSError as exc:
        raise ConnectError(f"pushgateway {url}: {exc.strerror or exc}") from None
