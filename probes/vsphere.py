"""vSphere probe: one pyVmomi session per vCenter, one PropertyCollector pass over a ContainerView.

Collects only the properties the nfs/sioc/vds checks need, for every datastore, host,
distributed switch and distributed portgroup, in a constant number of SOAP round trips
(RetrieveServiceContent, Login, CreateContainerView, RetrievePropertiesEx, DestroyView, Logout;
more only when the server pages a very large answer). Reading managed object attributes in a loop
would cost one round trip per object and property: never done here.

TLS is verified by default (system trust store, or ``ca_file``); ``insecure: true`` in the
inventory is the explicit opt-out. pyVmomi is imported inside the functions that need it so
``holdtime --help`` stays fast.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import os
import socket
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from holdtime import redaction
from holdtime.errors import AuthError, ConfigError, ConnectError, TransportError
from holdtime.plugins import Target
from holdtime.probes.vsphere_config import VCENTERS, VCenter

if (
    TYPE_CHECKING
):  # TLS, HTTP, XML and the model load when a vCenter is read, not with the inventory
    import ssl

    from holdtime.inventory import Inventory
    from holdtime.probes.vsphere_model import VsphereObservation


API_VERSION = "vim.version.version11"  # vSphere API 6.5: understood by vCenter 6.5 to 8.x and vcsim

# Managed object type -> the property paths fetched for it. Nothing else is transferred.
PROPERTIES: dict[str, tuple[str, ...]] = {
    "HostSystem": ("name", "runtime.connectionState"),
    "Datastore": ("name", "summary.type", "info.nas", "host", "iormConfiguration"),
    "DistributedVirtualSwitch": (
        "name",
        "config.defaultPortConfig",
        "config.uplinkPortgroup",
        "config.healthCheckConfig",
        "runtime.hostMemberRuntime",
    ),
    "DistributedVirtualPortgroup": (
        "name",
        "config.defaultPortConfig",
        "config.distributedVirtualSwitch",
    ),
}

TLS_UNTRUSTED = "TLS certificate not trusted; set ca_file or insecure: true"


def resolve_password(vcenter: VCenter) -> str:
    """The vCenter password: the inventory's resolved secret, else the env variable now."""
    if vcenter.password:
        return redaction.register(vcenter.password) or ""  # also when built without an inventory
    if vcenter.password_env:
        value = os.environ.get(vcenter.password_env)
        if value:
            redaction.register(value)  # read here, not by the inventory: hide it from now on
            return value
        raise ConfigError(
            f"vcenter {vcenter.name}: environment variable {vcenter.password_env} is not set"
        )
    raise ConfigError(f"vcenter {vcenter.name}: no password_env configured")


def tls_context(vcenter: VCenter) -> ssl.SSLContext:
    """Verifying context (system CAs or ca_file) unless the inventory said insecure."""
    import ssl

    if not vcenter.verify_tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # explicit `insecure: true` in the inventory
        return context
    try:
        return ssl.create_default_context(cafile=str(vcenter.ca_file) if vcenter.ca_file else None)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"vcenter {vcenter.name}: ca_file {vcenter.ca_file}: {exc}") from exc


def _pyvmomi() -> Any:
    """The pyVmomi package, imported on first use (untyped here: its stubs are partial)."""
    return importlib.import_module("pyVmomi")


def _counting_stub(host: str, port: int, context: ssl.SSLContext, timeout_seconds: float) -> Any:
    """A pyVmomi SoapStubAdapter that counts its SOAP requests in `.round_trips`."""
    base: Any = _pyvmomi().SoapStubAdapter

    class CountingStub(base):  # type: ignore[misc]
        round_trips = 0

        def InvokeMethod(self, *args: Any, **kwargs: Any) -> Any:  # noqa: N802 - pyVmomi name
            self.round_trips += 1
            return super().InvokeMethod(*args, **kwargs)

    return CountingStub(
        host=host,
        port=port,
        version=API_VERSION,
        sslContext=context,
        httpConnectionTimeout=timeout_seconds,
        connectionPoolTimeout=-1,
    )


def _wire_errors() -> tuple[type[BaseException], ...]:
    """What a broken or foreign peer raises under pyVmomi: socket, HTTP and XML errors.

    Imported here (evaluated only when an exception is matched), not with the inventory.
    """
    from http.client import HTTPException
    from xml.parsers.expat import ExpatError

    return (OSError, HTTPException, ExpatError)


def _where(vcenter: VCenter) -> str:
    return f"vcenter {vcenter.name} ({vcenter.host}:{vcenter.port})"


def _map_transport_error(vcenter: VCenter, exc: BaseException) -> TransportError:
    """Turn a socket/TLS/HTTP failure into ConnectError with a one-line reason."""
    import ssl

    where = _where(vcenter)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectError(f"{where}: {TLS_UNTRUSTED} ({exc.verify_message})")
    if isinstance(exc, ssl.SSLError):
        return ConnectError(f"{where}: TLS handshake failed ({exc.reason or exc})")
    if isinstance(exc, TimeoutError | socket.timeout):
        return ConnectError(f"{where}: unreachable (timed out)")
    if isinstance(exc, socket.gaierror):
        return ConnectError(f"{where}: host name does not resolve ({exc.strerror})")
    if isinstance(exc, OSError):
        return ConnectError(f"{where}: unreachable ({exc.strerror or exc})")
    return ConnectError(f"{where}: not a vCenter ({type(exc).__name__}: {exc})")


class Session:
    """One logged-in pyVmomi session; a context manager that always logs out."""

    def __init__(self, vcenter: VCenter, timeout_seconds: float) -> None:
        self.vcenter = vcenter
        self.stub = _counting_stub(
            vcenter.host, vcenter.port, tls_context(vcenter), timeout_seconds
        )
        self.content: Any = None

    @property
    def round_trips(self) -> int:
        """SOAP requests sent so far."""
        return int(self.stub.round_trips)

    def __enter__(self) -> Session:
        pyvmomi = _pyvmomi()
        vim, vmodl = pyvmomi.vim, pyvmomi.vmodl
        password = resolve_password(self.vcenter)
        try:
            instance = vim.ServiceInstance("ServiceInstance", self.stub)
            self.content = instance.RetrieveContent()
        except _wire_errors() as exc:
            raise _map_transport_error(self.vcenter, exc) from exc
        except vmodl.MethodFault as exc:
            raise ConnectError(f"{_where(self.vcenter)}: not a vCenter ({exc.msg})") from exc
        except Exception as exc:  # pyVmomi raises bare Exception on foreign SOAP/XML
            raise ConnectError(f"{_where(self.vcenter)}: not a vCenter ({exc})") from exc
        about = getattr(self.content, "about", None)
        api_type = getattr(about, "apiType", None)
        if api_type != "VirtualCenter":
            raise ConnectError(f"{_where(self.vcenter)}: not a vCenter (apiType {api_type})")
        try:
            self.content.sessionManager.Login(self.vcenter.username, password)
        except vim.fault.InvalidLogin as exc:
            raise AuthError(
                f"{_where(self.vcenter)}: login as {self.vcenter.username} rejected "
                "(wrong user name or password)"
            ) from exc
        except _wire_errors() as exc:
            raise _map_transport_error(self.vcenter, exc) from exc
        except vmodl.MethodFault as exc:
            raise AuthError(f"{_where(self.vcenter)}: login failed ({exc.msg})") from exc
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Logout is best effort: the collection result stands either way.
        with contextlib.suppress(Exception):
            self.content.sessionManager.Logout()
        self.stub.DropConnections()

    def retrieve(self, properties: dict[str, tuple[str, ...]]) -> list[Any]:
        """Fetch `properties` of every object of those types below the root folder."""
        pyvmomi = _pyvmomi()
        vim, vmodl = pyvmomi.vim, pyvmomi.vmodl
        content = self.content
        view = content.viewManager.CreateContainerView(
            content.rootFolder, [getattr(vim, kind) for kind in properties], True
        )
        try:
            traversal = vmodl.query.PropertyCollector.TraversalSpec(
                name="view", type=vim.view.ContainerView, path="view", skip=False
            )
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[
                    vmodl.query.PropertyCollector.ObjectSpec(
                        obj=view, skip=True, selectSet=[traversal]
                    )
                ],
                propSet=[
                    vmodl.query.PropertyCollector.PropertySpec(
                        type=getattr(vim, kind), pathSet=list(paths), all=False
                    )
                    for kind, paths in properties.items()
                ],
            )
            collector = content.propertyCollector
            options = vmodl.query.PropertyCollector.RetrieveOptions()
            result = collector.RetrievePropertiesEx([spec], options)
            objects = list(result.objects) if result else []
            # The server pages very large answers; follow the token (more round trips only then).
            while result is not None and result.token:
                result = collector.ContinueRetrievePropertiesEx(result.token)
                objects.extend(result.objects)
            return objects
        finally:
            view.DestroyView()


def observe(session: Session) -> VsphereObservation:
    """One PropertyCollector pass on a logged-in session: what the vSphere checks judge.

    ``round_trips`` counts the SOAP requests of this pass only.
    """
    from holdtime.probes.vsphere_model import build_observation, records_from_contents

    vcenter = session.vcenter
    vmodl = _pyvmomi().vmodl
    before = session.round_trips
    try:
        contents = session.retrieve(PROPERTIES)
    except _wire_errors() as exc:
        raise _map_transport_error(vcenter, exc) from exc
    except vmodl.MethodFault as exc:
        raise TransportError(f"{_where(vcenter)}: property collection failed ({exc.msg})") from exc
    records = records_from_contents(contents)
    api_version = str(getattr(session.content.about, "apiVersion", ""))
    return build_observation(vcenter.name, records, session.round_trips - before, api_version)


def collect_vcenter(vcenter: VCenter, timeout_seconds: float = 30.0) -> VsphereObservation:
    """Log in, fetch everything the vSphere checks need, log out."""
    with Session(vcenter, timeout_seconds) as session:
        observation = observe(session)
        # every request of the session: login and collection, + Logout sent in __exit__
        round_trips = session.round_trips + 1
    return dataclasses.replace(observation, round_trips=round_trips)


class VsphereProbe:
    """Probe plugin `vsphere`: one target per `vcenters:` inventory entry."""

    name = "vsphere"
    section = VCENTERS

    def __init__(self, collect: Callable[[VCenter, float], VsphereObservation] | None = None):
        self._collect = collect or collect_vcenter

    def targets(self, inventory: Inventory) -> Sequence[Target[VCenter]]:
        """One Target per vCenter; the checks name datastores/switches below it."""
        return [
            Target(
                name=vcenter.name,
                device=vcenter.name,
                config=vcenter,
                timeout_seconds=60.0,
            )
            for vcenter in inventory.of(VCenter)
        ]

    def collect(self, target: Target[VCenter], timeout_seconds: float) -> VsphereObservation:
        """One session, one PropertyCollector pass, logout."""
        return self._collect(target.config, timeout_seconds)
