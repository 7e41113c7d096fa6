"""Failover drills: trigger a declared failure, measure every path's outage, always restore."""
