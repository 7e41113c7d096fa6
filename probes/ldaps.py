"""LDAPS probe: per directory controller, the TLS handshake on 636, the rootDSE, a simple bind
and StartTLS on 389.

The handshakes (636, and 389 after the StartTLS request) are holdtime.probes.tls_handshake's, so
a certificate problem is told in the same words as in the `tls` family. The rootDSE and the bind
go through ldap3 (imported inside the function: `holdtime --help` and loading an inventory never
import it) over a second, verifying LDAPS connection, only after the first handshake verified:
the password is never sent to a server whose certificate did not verify.
"""

from __future__ import annotations

import contextlib
import math
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from holdtime import netns, redaction
from holdtime.errors import ParseError
from holdtime.plugins import Target
from holdtime.probes.ldaps_config import LDAPS, LdapsController
from holdtime.probes.tls_handshake import TlsObservation, handshake

if TYPE_CHECKING:
    from holdtime.inventory import Inventory

STARTTLS_OID = b"1.3.6.1.4.1.1466.20037"
NOTICE_OF_DISCONNECTION_OID = b"1.3.6.1.4.1.1466.20036"
# LDAPMessage { messageID 1, extendedReq [APPLICATION 23] { requestName [0] STARTTLS_OID } }
STARTTLS_REQUEST = bytes.fromhex("301d02010177188016") + STARTTLS_OID

# RFC 4511 4.1.9 result codes a controller answers StartTLS or a bind with.
RESULT_NAMES = {
    0: "success",
    1: "operationsError",
    2: "protocolError",
    7: "authMethodNotSupported",
    8: "strongerAuthRequired",
    13: "confidentialityRequired",
    32: "noSuchObject",
    34: "invalidDNSyntax",
    48: "inappropriateAuthentication",
    49: "invalidCredentials",
    50: "insufficientAccessRights",
    51: "busy",
    52: "unavailable",
    53: "unwillingToPerform",
    80: "other",
}


@dataclass(frozen=True, slots=True)
class ExtendedResponse:
    """An LDAP ExtendedResponse (RFC 4511 4.12): what a server answers a StartTLS request."""

    message_id: int
    result_code: int
    diagnostic: str
    response_name: bytes = b""


@dataclass(frozen=True, slots=True)
class RootDse:
    """The rootDSE as read anonymously over LDAPS."""

    state: str  # read | failed | not_attempted
    naming_contexts: tuple[str, ...] = ()
    supported_ldap_versions: tuple[str, ...] = ()
    vendor: str = ""
    result_code: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class BindOutcome:
    """A simple bind of the service account over LDAPS."""

    dn: str
    state: str  # bound | rejected | failed | not_attempted
    result_code: int | None = None
    result_name: str = ""  # ldap3's description, e.g. invalidCredentials
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LdapsObservation:
    """Everything one collect saw of one controller."""

    ldaps: TlsObservation
    rootdse: RootDse
    bind: BindOutcome | None  # None: no bind_dn configured
    starttls: TlsObservation | None  # None: no starttls_port configured


def _tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, value, offset after it) of the BER element at `offset` (definite lengths only)."""
    if offset + 2 > len(data):
        raise ParseError(f"LDAP answer cut short at byte {offset}")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or offset + count > len(data):
            raise ParseError(f"LDAP answer has an unreadable length at byte {offset - 1}")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise ParseError(f"LDAP answer cut short: element of {length} bytes at byte {offset}")
    return tag, data[offset : offset + length], offset + length


def parse_ldap_extended_response(data: bytes) -> ExtendedResponse:
    """Parse one BER LDAPMessage holding an ExtendedResponse (what slapd/AD answer StartTLS)."""
    tag, message, _ = _tlv(data, 0)
    if tag != 0x30:
        raise ParseError(f"not an LDAP message: starts with byte 0x{tag:02x}")
    tag, message_id, offset = _tlv(message, 0)
    if tag != 0x02 or not message_id:
        raise ParseError("LDAP message without a message ID")
    tag, body, _ = _tlv(message, offset)
    if tag != 0x78:  # [APPLICATION 24] ExtendedResponse
        raise ParseError(f"LDAP answer is operation 0x{tag:02x}, not an extended response")
    tag, code, offset = _tlv(body, 0)
    if tag != 0x0A or not code:
        raise ParseError("extended response without a result code")
    _, _matched, offset = _tlv(body, offset)
    tag, diagnostic, offset = _tlv(body, offset)
    if tag != 0x04:
        raise ParseError("extended response without a diagnostic message")
    name = b""
    while offset < len(body):
        tag, value, offset = _tlv(body, offset)
        if tag == 0x8A:  # responseName [10]
            name = value
    return ExtendedResponse(
        message_id=int.from_bytes(message_id, "big", signed=True),
        result_code=int.from_bytes(code, "big"),
        diagnostic=diagnostic.decode("utf-8", errors="replace"),
        response_name=name,
    )


def _read_message(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """One whole BER element from `sock`: the header, then as many bytes as it announces."""
    data = b""

    def need(size: int) -> None:
        nonlocal data
        while len(data) < size:
            chunk = sock.recv(max(4096, size - len(data)))
            if not chunk:
                raise ConnectionResetError("the server closed the connection before answering")
            data += chunk

    need(2)
    header, length = 2, data[1]
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4:
            raise ParseError(f"LDAP answer has an unreadable length byte 0x{length:02x}")
        need(2 + count)
        header, length = 2 + count, int.from_bytes(data[2 : 2 + count], "big")
    if length > limit:
        raise ParseError(f"LDAP answer announces {length} bytes: not an answer to StartTLS")
    need(header + length)
    return data[: header + length]


def ldap_starttls(sock: socket.socket) -> str:
    """Send the StartTLS request; "" when the server agrees, else why it refused (a Preamble)."""
    sock.sendall(STARTTLS_REQUEST)
    answer = parse_ldap_extended_response(_read_message(sock))
    if answer.response_name == NOTICE_OF_DISCONNECTION_OID or answer.message_id == 0:
        return f"the server sent a notice of disconnection: {answer.diagnostic or 'no reason'}"
    if answer.message_id != 1:
        raise ParseError(f"StartTLS answer for message {answer.message_id}, not 1")
    if answer.result_code == 0:
        return ""
    name = RESULT_NAMES.get(answer.result_code, "unknown")
    said = f": {answer.diagnostic}" if answer.diagnostic else ""
    return f"StartTLS refused with result {answer.result_code} ({name}){said}"


def _result(connection: Any) -> tuple[int | None, str, str]:
    result = connection.result or {}
    code = result.get("result")
    return (
        code if isinstance(code, int) else None,
        str(result.get("description") or ""),
        redaction.redact(str(result.get("message") or "")),
    )


def read_directory(
    entry: LdapsController, left: Callable[[], float]
) -> tuple[RootDse, BindOutcome | None]:
    """Read the rootDSE anonymously, then bind as the service account, over one LDAPS session."""
    import ssl

    from ldap3 import BASE, NONE, SIMPLE, Connection, Server, Tls
    from ldap3.core.exceptions import LDAPException

    tls = Tls(
        validate=ssl.CERT_REQUIRED,
        ca_certs_file=str(entry.ca_file) if entry.ca_file else None,
        valid_names=[entry.verify_name],
        sni=entry.server_name or None,
    )
    server = Server(
        entry.host, port=entry.port, use_ssl=True, tls=tls, get_info=NONE, connect_timeout=left()
    )
    connection = Connection(
        server,
        user=entry.bind_dn or None,
        password=entry.password,
        authentication=SIMPLE if entry.bind_dn else None,
        # ldap3 packs it into SO_RCVTIMEO as whole seconds: an int, rounded up.
        receive_timeout=math.ceil(left()),
        raise_exceptions=False,
        auto_bind=False,
        read_only=True,
    )
    bind = BindOutcome(dn=entry.bind_dn, state="not_attempted") if entry.bind_dn else None
    rootdse: RootDse | None = None
    try:
        with netns.entered(entry.netns):
            connection.open()
        connection.search(
            "",
            "(objectClass=*)",
            search_scope=BASE,
            attributes=["namingContexts", "supportedLDAPVersion", "vendorName", "vendorVersion"],
        )
        code, _name, message = _result(connection)
        entries = [r for r in connection.response or [] if r.get("type") == "searchResEntry"]
        if code == 0 and entries:
            attributes = entries[0].get("attributes") or {}
            vendor = " ".join(
                str(v) for v in (attributes.get("vendorName"), attributes.get("vendorVersion")) if v
            )
            rootdse = RootDse(
                state="read",
                naming_contexts=tuple(str(v) for v in attributes.get("namingContexts") or ()),
                supported_ldap_versions=tuple(
                    str(v) for v in attributes.get("supportedLDAPVersion") or ()
                ),
                vendor=vendor,
                result_code=code,
            )
        else:
            rootdse = RootDse(
                state="failed",
                result_code=code,
                detail=message or f"search of the rootDSE returned result {code} and no entry",
            )
        if bind is not None:
            bound = connection.bind()
            code, name, message = _result(connection)
            bind = BindOutcome(
                dn=entry.bind_dn,
                state="bound" if bound else "rejected" if code is not None else "failed",
                result_code=code,
                result_name=name,
                detail=message,
            )
    except (LDAPException, OSError) as exc:
        detail = redaction.redact(str(exc) or type(exc).__name__)
        rootdse = rootdse or RootDse(state="failed", detail=detail)
        if bind is not None and bind.state == "not_attempted":
            bind = BindOutcome(dn=entry.bind_dn, state="failed", detail=detail)
    finally:
        with contextlib.suppress(LDAPException, OSError):
            connection.unbind()
    return rootdse, bind


class LdapsProbe:
    """Probe plugin `ldaps`: one target per `ldaps:` inventory entry (a controller)."""

    name = "ldaps"
    section = LDAPS

    def targets(self, inventory: Inventory) -> Sequence[Target[LdapsController]]:
        """One Target per controller; deadline = both handshake budgets + 1 s slack."""
        return [
            Target(
                name=entry.name,
                device=entry.name,
                config=entry,
                timeout_seconds=entry.timeout_seconds * (2 if entry.starttls_port else 1) + 1.0,
            )
            for entry in inventory.of(LdapsController)
        ]

    def collect(self, target: Target[LdapsController], timeout_seconds: float) -> LdapsObservation:
        """Handshake on the LDAPS port, read the directory if it verified, then StartTLS."""
        entry = target.config
        return collect_controller(entry)


# probes.tls_handshake.HANDSHAKE_STATES in the words a result shows (why no bind was tried)
_HANDSHAKE_WORDS = {
    "timeout": "no TLS answer in time",
    "closed": "the controller closed the connection",
    "verify_failed": "its certificate was refused",
    "protocol": "the TLS handshake failed",
    "local_error": "the CA file could not be loaded",
}


def collect_controller(
    entry: LdapsController, clock: Callable[[], float] | None = None
) -> LdapsObservation:
    """Everything about one controller; LDAPS and StartTLS have a budget each."""
    import time

    now = clock or time.monotonic
    began = now()

    def left() -> float:
        return max(0.05, entry.timeout_seconds - (now() - began))

    ca_file = str(entry.ca_file) if entry.ca_file else ""
    ldaps = handshake(
        entry.host,
        entry.port,
        server_name=entry.verify_name,
        ca_file=ca_file,
        timeout_seconds=entry.timeout_seconds,
        netns_name=entry.netns,
        clock=now,
    )
    if ldaps.handshake == "ok":
        rootdse, bind = read_directory(entry, left)
    else:
        words = _HANDSHAKE_WORDS.get(ldaps.handshake, ldaps.handshake)
        why = f"the LDAPS handshake did not verify ({words})"
        if ldaps.handshake == "not_attempted":
            why = f"no TCP connection to {entry.host}:{entry.port} (connect {ldaps.connect})"
        rootdse = RootDse(state="not_attempted", detail=why)
        bind = BindOutcome(entry.bind_dn, "not_attempted", detail=why) if entry.bind_dn else None
    starttls = None
    if entry.starttls_port is not None:
        starttls = handshake(
            entry.host,
            entry.starttls_port,
            server_name=entry.verify_name,
            ca_file=ca_file,
            timeout_seconds=entry.timeout_seconds,
            netns_name=entry.netns,
            preamble=ldap_starttls,
            clock=now,
        )
    return LdapsObservation(ldaps=ldaps, rootdse=rootdse, bind=bind, starttls=starttls)
