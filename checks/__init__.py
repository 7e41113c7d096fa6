"""Checks: pure functions from observations and expectations to CheckResults (no I/O)."""
