"""`holdtime --version [-v]`: the version line, and with -v what users paste into bug reports.

The library versions come from the installed distributions' metadata
(``importlib.metadata.version``), never from importing the libraries: importing scapy alone
takes 0.65 s, and a broken library must not stop holdtime from saying which version it is.
"""

from __future__ import annotations

import platform
import sys

from holdtime import __version__

# distribution names as PyPI spells them, and as users know them
LIBRARIES = ("paramiko", "pyVmomi", "scapy", "prometheus-client")


def version_text(*, verbose: bool) -> str:
    """`holdtime X`; with verbose, the Python in use and each library's version, one a line."""
    lines = [f"holdtime {__version__}"]
    if verbose:
        from importlib import metadata

        implementation = platform.python_implementation()
        lines.append(f"Python {platform.python_version()} ({implementation}, {sys.executable})")
        for name in LIBRARIES:
            try:
                found = metadata.version(name)
            except metadata.PackageNotFoundError:
                found = "not installed"
            lines.append(f"{name} {found}")
    return "\n".join(lines)
