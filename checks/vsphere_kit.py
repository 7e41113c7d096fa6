"""What the vSphere checks (nfs.*, sioc.*, vds.*) share: their base and the no-NFS opening.

This module is not a check and registers none.
"""

from __future__ import annotations

from holdtime.checks.kit import BaseCheck, no_data
from holdtime.models import CheckResult
from holdtime.plugins import Target
from holdtime.probes.vsphere_config import VCenter
from holdtime.probes.vsphere_model import VsphereObservation


class VsphereCheck(BaseCheck[VCenter, VsphereObservation]):
    """A check of the `vsphere` probe's observation; policy in ``target.config.expect``."""

    probe = "vsphere"


def no_nfs(check: str, target: Target[VCenter]) -> list[CheckResult]:
    """The single SKIP result of an NFS check on a vCenter without NFS datastores."""
    return no_data(check, target, "no NFS datastores", observed={"nfs_datastores": 0})
