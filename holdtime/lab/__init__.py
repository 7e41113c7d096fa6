"""The built-in lab: the reference deployment in Linux network namespaces (`holdtime lab`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from holdtime.lab.lab import Lab

__all__ = ["Lab"]


def __getattr__(name: str) -> Any:
    # Imported on first use: `holdtime --help` registers `holdtime lab` without loading it.
    if name == "Lab":
        from holdtime.lab.lab import Lab

        return Lab
    raise AttributeError(name)
