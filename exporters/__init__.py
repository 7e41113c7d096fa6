"""Exporters: publish CheckResults and drill results (Prometheus, textfile, pushgateway)."""
