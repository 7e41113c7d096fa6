"""holdtime-banner: a third-party holdtime family (inventory section, probe, check, report)."""
