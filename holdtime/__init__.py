"""holdtime: health checks and measured failover drills for hybrid VMware / cloud networks."""

__version__ = "0.1.0"
