"""The one table mapping CheckResult.observed fields to domain metrics (BGP, IPsec, vSphere).

Each :class:`MetricSpec` says: for results of check ``check``, read ``value`` from ``observed``
(or from each item of the list ``observed[each]``), convert it, and expose it as ``metric`` with
these labels. Adjust a mapping here, not in the renderer.

Label sources: ``target``, ``device``, ``check``, ``target.last`` (the text after the last
``/`` of the target), ``observed.KEY`` (top level of observed) and ``item.KEY`` (the list item).
Every domain series also carries ``target`` and ``device`` so it joins with
``holdtime_check_status`` on those labels.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

Converter = Callable[[object, float], float | None]
"""(observed value, Unix time of the check run) -> sample value, or None to emit no sample."""

GAUGE = "gauge"
COUNTER = "counter"  # exposed with the `_total` suffix in `metric`
INFO = "info"  # value 1, the descriptive strings are labels; `metric` ends in `_info`
STATESET = "stateset"  # one series per state in `states`, 1 for the current one


def _number(value: object, run_timestamp: float = 0.0) -> float | None:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _millis_to_seconds(value: object, run_timestamp: float = 0.0) -> float | None:
    number = _number(value)
    return None if number is None else number / 1000.0


def _count(value: object, run_timestamp: float = 0.0) -> float | None:
    if isinstance(value, list | tuple | set | frozenset):
        return float(len(value))
    return _number(value)


def _truthy(value: object, run_timestamp: float = 0.0) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        return 1.0 if value.strip().lower() in {"true", "yes", "on", "enabled", "1"} else 0.0
    return 1.0 if value else 0.0


def _seconds_ago_to_timestamp(value: object, run_timestamp: float = 0.0) -> float | None:
    # Prometheus practice: export the time something happened, not the time since, so the
    # value stays right between check runs (an age would freeze at the last run).
    age = _number(value)
    return None if age is None or age < 0 else run_timestamp - age


def _equals(*wanted: str) -> Converter:
    lowered = {w.lower() for w in wanted}

    def convert(value: object, run_timestamp: float = 0.0) -> float | None:
        if value is None:
            return None
        return 1.0 if str(value).strip().lower() in lowered else 0.0

    return convert


CONVERTERS: Mapping[str, Converter] = {
    "seconds_ago_to_timestamp": _seconds_ago_to_timestamp,
    "number": _number,
    "bool": _truthy,
    "ms_to_seconds": _millis_to_seconds,
    "count": _count,
    "established": _equals("established"),
    "installed": _equals("installed", "true", "yes"),
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One observed field of one check, exposed as one metric family."""

    check: str  # exact check name
    metric: str  # full metric name, `_total` only on counters, `_info` on info
    kind: str  # GAUGE | COUNTER | INFO | STATESET
    help: str
    value: str = ""  # observed (or item) key holding the value; "" for INFO
    convert: str = "number"  # key of CONVERTERS
    labels: tuple[tuple[str, str], ...] = ()  # (label name, source), see module docstring
    each: str = ""  # observed key of a list of mappings: one series per item
    states: tuple[str, ...] = ()  # STATESET: every state, in order
    state_label: str = "status"  # STATESET: the label carrying the state name


_PEER = (("neighbor", "target.last"),)
_IKE = (("ike_sa", "target.last"),)
_CHILD = (("ike_sa", "target.last"), ("child_sa", "item.name"))
_DATASTORE = (("datastore", "observed.datastore"),)

SPECS: tuple[MetricSpec, ...] = (
    # --- BGP (checks/bgp.py): one result per neighbor, target "router/neighbor-address" ---
    MetricSpec(
        "bgp.peer_established",
        "holdtime_bgp_peer_established",
        GAUGE,
        "1 when the BGP session is Established, 0 otherwise.",
        value="state",
        convert="established",
        labels=_PEER,
    ),
    MetricSpec(
        "bgp.peer_established",
        "holdtime_bgp_peer_established_timestamp_seconds",
        GAUGE,
        "Unix time the BGP session came up (check time minus the uptime it reported).",
        value="uptime_seconds",
        convert="seconds_ago_to_timestamp",
        labels=_PEER,
    ),
    MetricSpec(
        "bgp.peer_established",
        "holdtime_bgp_peer_prefixes_received",
        GAUGE,
        "Prefixes accepted from the neighbor.",
        value="prefixes_received",
        convert="count",
        labels=_PEER,
    ),
    MetricSpec(
        "bgp.peer_established",
        "holdtime_bgp_peer_prefixes_sent",
        GAUGE,
        "Prefixes advertised to the neighbor.",
        value="prefixes_sent",
        convert="count",
        labels=_PEER,
    ),
    MetricSpec(
        "bgp.peer_established",
        "holdtime_bgp_peer_hold_time_seconds",
        GAUGE,
        "Negotiated BGP hold time.",
        value="hold_time_seconds",
        labels=_PEER,
    ),
    MetricSpec(
        "bgp.peer_established",
        "holdtime_bgp_peer_info",
        INFO,
        "Descriptive strings of a BGP neighbor.",
        labels=(
            *_PEER,
            ("remote_as", "observed.remote_as"),
            ("description", "observed.description"),
            ("vrf", "observed.vrf"),
        ),
    ),
    # --- IPsec (checks/ipsec.py): one result per tunnel, target "router/tunnel" ---
    MetricSpec(
        "ipsec.ike_established",
        "holdtime_ipsec_ike_sa_established",
        GAUGE,
        "1 when the IKE SA is ESTABLISHED, 0 otherwise.",
        value="state",
        convert="established",
        labels=_IKE,
    ),
    MetricSpec(
        "ipsec.ike_established",
        "holdtime_ipsec_ike_sa_established_timestamp_seconds",
        GAUGE,
        "Unix time the IKE SA was established (check time minus its reported age).",
        value="established_seconds",
        convert="seconds_ago_to_timestamp",
        labels=_IKE,
    ),
    MetricSpec(
        "ipsec.child_installed",
        "holdtime_ipsec_child_sa_installed",
        GAUGE,
        "1 when the CHILD SA is installed in the kernel (or userspace ESP), 0 otherwise.",
        value="installed",
        convert="bool",
        labels=_CHILD,
        each="children",
    ),
    MetricSpec(
        "ipsec.child_installed",
        "holdtime_ipsec_child_sa_in_bytes_total",
        COUNTER,
        "Bytes received on the CHILD SA (the device's counter: resets when the SA is rekeyed).",
        value="bytes_in",
        labels=_CHILD,
        each="children",
    ),
    MetricSpec(
        "ipsec.child_installed",
        "holdtime_ipsec_child_sa_out_bytes_total",
        COUNTER,
        "Bytes sent on the CHILD SA (the device's counter: resets when the SA is rekeyed).",
        value="bytes_out",
        labels=_CHILD,
        each="children",
    ),
    # --- vSphere NFS (checks/nfs.py): one result per datastore ---
    MetricSpec(
        "nfs.version",
        "holdtime_vsphere_datastore_nfs_info",
        INFO,
        "NFS datastore and its protocol version (3 or 4.1).",
        labels=(*_DATASTORE, ("version", "observed.version")),
    ),
    MetricSpec(
        "nfs.version",
        "holdtime_vsphere_datastore_nfs_server_addresses",
        GAUGE,
        "Server addresses (paths) the NFS datastore is mounted with.",
        value="server_addresses",
        convert="count",
        labels=_DATASTORE,
    ),
    # --- vSphere SIOC (checks/sioc.py): one result per datastore ---
    MetricSpec(
        "sioc.enabled",
        "holdtime_vsphere_datastore_sioc_enabled",
        GAUGE,
        "1 when Storage I/O Control is enabled on the datastore.",
        value="enabled",
        convert="bool",
        labels=_DATASTORE,
    ),
    MetricSpec(
        "sioc.enabled",
        "holdtime_vsphere_datastore_sioc_congestion_threshold_seconds",
        GAUGE,
        "SIOC congestion threshold (vSphere reports milliseconds).",
        value="congestion_threshold_ms",
        convert="ms_to_seconds",
        labels=_DATASTORE,
    ),
    # --- vSphere distributed switch (checks/vds.py) ---
    MetricSpec(
        "vds.iphash_teaming",
        "holdtime_vsphere_dvs_teaming_status",
        STATESET,
        "Teaming health check result per host: one series per status, 1 for the current one.",
        value="status",
        labels=(("dvs", "observed.dvs"), ("host", "item.host")),
        each="hosts",
        states=("match", "mismatch", "unknown"),
    ),
    MetricSpec(
        "vds.healthcheck_enabled",
        "holdtime_vsphere_dvs_healthcheck_enabled",
        GAUGE,
        "1 when the vDS health check is enabled.",
        value="enabled",
        convert="bool",
        labels=(("dvs", "observed.dvs"), ("check", "item.check")),
        each="healthchecks",
    ),
)


def all_specs() -> tuple[MetricSpec, ...]:
    """The built-in table plus every registered check's own ``metrics`` (third-party families).

    A metric a plugin declares with a name the table already uses for another check is refused
    (one family name, one meaning), naming the plugin.
    """
    from holdtime import plugins
    from holdtime.errors import ConfigError

    declared = {spec.metric: spec.check for spec in SPECS}
    extra: list[MetricSpec] = []
    for name, check in sorted(plugins.checks().items()):
        for spec in check.metrics:
            if spec.check != name:
                raise ConfigError(
                    f"check plugin {name!r}: its metric {spec.metric} names check "
                    f"{spec.check!r}; a check declares only its own metrics"
                )
            owner = declared.setdefault(spec.metric, name)
            if owner != name:
                raise ConfigError(
                    f"check plugin {name!r}: metric {spec.metric} already belongs to {owner!r}"
                )
            extra.append(spec)
    return SPECS + tuple(extra)
