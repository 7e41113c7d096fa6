"""The built-in lab: the reference deployment in Linux network namespaces (`holdtime lab`)."""

from holdtime.lab.lab import Lab

__all__ = ["Lab"]
