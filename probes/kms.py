"""kms probe: a vCenter's key providers through its crypto manager (pyVmomi), in one session.

Round trips, whatever the number of providers, servers, VMs and hosts: RetrieveServiceContent,
Login, ListKmipServers, RetrieveKmipServersStatus_Task, one read of the task's info per poll
(one when vCenter has finished by then), CreateContainerView, RetrievePropertiesEx (VM
``config.keyId`` and host ``runtime.cryptoKeyId`` of every object at once), DestroyView, Logout.
The connection, TLS policy and login are the vsphere probe's (`holdtime.probes.vsphere.Session`,
reused unchanged).

A fault of the crypto manager (NotSupported, MethodNotFound on a vCenter without one, NoPermission
...) is kept in the observation with its name; the checks that needed that answer say ERROR.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Sequence
from http.client import HTTPException
from typing import TYPE_CHECKING, Any
from xml.parsers.expat import ExpatError

from holdtime.plugins import Target
from holdtime.probes.kms_config import KMS, KmsSite, KmsTarget
from holdtime.probes.kms_model import (
    KEY_PATHS,
    KmsObservation,
    ObjectRecord,
    ProviderStatus,
    protected_from,
    providers_from,
    statuses_from,
)
from holdtime.probes.vsphere import Session, _map_transport_error, _pyvmomi
from holdtime.probes.vsphere_config import VCenter

if TYPE_CHECKING:
    from holdtime.inventory import Inventory

OBJECT_PROPERTIES: dict[str, tuple[str, ...]] = {
    kind: ("name", path) for kind, path in KEY_PATHS.items()
}
TASK_POLL_SECONDS = 0.2


def fault_text(fault: Any) -> str:
    """`NotSupported: message` for a vmodl.MethodFault (its WSDL name, then vCenter's words)."""
    name = getattr(fault, "_wsdlName", None) or type(fault).__name__
    message = getattr(fault, "msg", None) or ""
    return f"{name}: {message}" if message else str(name)


def _wait_for_status(
    manager: Any, timeout_seconds: float, clock: Callable[[], float]
) -> tuple[ProviderStatus, ...]:
    """Start RetrieveKmipServersStatus_Task and poll its info until it ends or time is up."""
    vim = _pyvmomi().vim
    task = manager.RetrieveKmipServersStatus_Task()
    deadline = clock() + timeout_seconds
    while True:
        info = task.info  # one RetrieveProperties round trip per poll
        if info.state == vim.TaskInfo.State.success:
            return statuses_from(info.result or ())
        if info.state == vim.TaskInfo.State.error:
            raise _TaskFailed(fault_text(info.error))
        if clock() >= deadline:
            raise _TaskFailed(f"did not finish within {timeout_seconds:g} s (state {info.state})")
        time.sleep(TASK_POLL_SECONDS)


class _TaskFailed(Exception):
    """RetrieveKmipServersStatus_Task ended in error or did not end in time."""


def observe(
    session: Session,
    timeout_seconds: float,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    clock: Callable[[], float] = time.monotonic,
) -> KmsObservation:
    """Read the crypto manager and the key ids of VMs and hosts on a logged-in session."""
    vmodl = _pyvmomi().vmodl
    vcenter = session.vcenter
    before = session.round_trips
    manager = session.content.cryptoManager
    missing = "vCenter has no crypto manager (ServiceContent.cryptoManager is unset)"
    providers = statuses = objects = None
    providers_error = statuses_error = objects_error = None
    observed_at = now()
    try:
        if manager is None:
            providers_error = statuses_error = missing
        else:
            try:
                providers = providers_from(manager.ListKmipServers())
            except vmodl.MethodFault as exc:
                providers_error = f"ListKmipServers failed: {fault_text(exc)}"
            try:
                observed_at = now()
                statuses = _wait_for_status(manager, timeout_seconds, clock)
            except vmodl.MethodFault as exc:
                statuses_error = f"RetrieveKmipServersStatus_Task failed: {fault_text(exc)}"
            except _TaskFailed as exc:
                statuses_error = f"RetrieveKmipServersStatus_Task {exc}"
        try:
            contents = session.retrieve(OBJECT_PROPERTIES)
            records = [
                ObjectRecord(
                    kind=str(item.obj._wsdlName),
                    properties={p.name: p.val for p in item.propSet or ()},
                )
                for item in contents
            ]
            objects = protected_from(records)
        except vmodl.MethodFault as exc:
            objects_error = f"reading VM and host key ids failed: {fault_text(exc)}"
    except (OSError, HTTPException, ExpatError) as exc:
        raise _map_transport_error(vcenter, exc) from exc
    return KmsObservation(
        vcenter=vcenter.name,
        observed_at=observed_at,
        providers=providers,
        providers_error=providers_error,
        statuses=statuses,
        statuses_error=statuses_error,
        objects=objects,
        objects_error=objects_error,
        round_trips=session.round_trips - before,
    )


def collect_kms(target: KmsTarget, timeout_seconds: float = 30.0) -> KmsObservation:
    """Log in to the entry's vCenter, read its key providers and protected objects, log out."""
    with Session(target.vcenter, timeout_seconds) as session:
        observation = observe(session, timeout_seconds)
        total = session.round_trips + 1  # every request of the session, + Logout in __exit__
    return dataclasses.replace(observation, round_trips=total)


class KmsProbe:
    """Probe plugin `kms`: one target per `kms:` entry, on the vCenter it names."""

    name = "kms"
    section = KMS

    def __init__(self, collect: Callable[[KmsTarget, float], KmsObservation] | None = None):
        self._collect = collect or collect_kms

    def targets(self, inventory: Inventory) -> Sequence[Target[KmsTarget]]:
        """One Target per `kms:` entry (the inventory checked that its vCenter exists)."""
        vcenters = {v.name: v for v in inventory.of(VCenter)}
        return [
            Target(
                name=site.vcenter,
                device=site.vcenter,
                config=KmsTarget(site=site, vcenter=vcenters[site.vcenter]),
                timeout_seconds=60.0,
            )
            for site in inventory.of(KmsSite)
            if site.vcenter in vcenters
        ]

    def collect(self, target: Target[KmsTarget], timeout_seconds: float) -> KmsObservation:
        """One session: crypto manager, status task, one PropertyCollector pass, logout."""
        return self._collect(target.config, timeout_seconds)
