"""Defaults shared by the CLI, the runner and the exporter (no imports: the CLI reads it first)."""

DEFAULT_WORKERS = 64
"""Targets checked at once. Router reads wait on the network and hold a worker through the IPsec
traffic sample (4 s), so 16 would make 100 routers take 7 rounds; threads are cheap."""
