"""Probes: talk to devices, parse their output, return observations (never verdicts)."""
