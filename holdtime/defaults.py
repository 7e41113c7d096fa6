"""Defaults shared by the CLI, the runner and the exporter (no imports: the CLI reads it first)."""

DEFAULT_WORKERS = 64
"""Targets checked at once. Router reads wait on the network and hold a worker through the IPsec
traffic sample (4 s), so 16 would make 100 routers take 7 rounds; threads are cheap."""

EXPORTER_MAX_CONNECTIONS = 128
"""Clients `holdtime serve` serves at once, one thread each: Prometheus HA pairs, a few
dashboards and humans need far fewer; a flood of idle clients gets evicted, not queued."""

EXPORTER_IDLE_TIMEOUT_SECONDS = 120.0
"""A kept-alive connection may wait this long for its next request: longer than the usual
15-60 s scrape interval, so Prometheus keeps reusing its connection."""

EXPORTER_HEAD_TIMEOUT_SECONDS = 10.0
"""A new connection's first request head must arrive whole within this (slowloris)."""

EXPORTER_PROBING_NICE = 5
"""`holdtime serve`'s probing process (scheduler and probes) runs this much nicer than its HTTP
process, so a scrape goes first when both want a core. 5, not 10: Linux weighs nice 0 : 5 : 10
as 1024 : 335 : 110, so next to another busy process at nice 0 the probing still gets a quarter
of a core (at 10 a tenth, less than 1000 routers every 60 s need); 0 turns it off."""

# -- ping logs and gap analysis (holdtime.gap) ------------------------------------------------
SEQ_MODULO = 65536
"""ICMP echo sequence numbers are 16 bits."""
MIN_INTERVAL_SECONDS = 1e-6
MAX_INTERVAL_SECONDS = 86400.0
"""The interval is a probe spacing: beyond these bounds a figure is nonsense or overflows."""
DEFAULT_INTERVAL_SECONDS = 1.0
"""A saved ping log's interval when none is given: ping's default (no tool prints its -i)."""
INTERVAL_TOLERANCE = 0.2
"""--interval further than this from the timestamps' spacing: said, and the timestamps win."""
SHOWN_SKIPPED = 3
"""Lines of a ping log not understood that the report shows (all are counted)."""
