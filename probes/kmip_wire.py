"""KMIP DiscoverVersions on an open TLS socket, encoded with PyKMIP's message classes.

PyKMIP's own client (`kmip.services.kmip_client.KMIPProxy`) is not used: it builds an
`ssl.SSLContext` without host name verification (no `server_hostname`, no `check_hostname`),
reads `/etc/pykmip/pykmip.conf`, and hides the TLS failure reason in a log line. holdtime opens
the TLS session itself (`holdtime.probes.kmip`) and uses PyKMIP only to encode the request and
decode the answer (`kmip.core.messages`), imported inside the functions.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

# A KMIP message is a TTLV structure: tag (3 bytes), type (1), length (4), then the value.
_HEADER_BYTES = 8
_MAX_MESSAGE_BYTES = 1 << 20  # a DiscoverVersions answer is a few hundred bytes


@dataclass(frozen=True, slots=True)
class KmipAnswer:
    """What the server answered to DiscoverVersions (strings as KMIP names them)."""

    result_status: str  # "SUCCESS", "OPERATION_FAILED", ...
    result_reason: str  # "" on success
    result_message: str
    protocol_versions: tuple[str, ...]  # "2.0", "1.4", ... in the server's order


class KmipProtocolError(Exception):
    """The bytes from the server are not a KMIP answer holdtime could read."""


def load_codec() -> None:
    """Import PyKMIP's message classes now (slow: `kmip/__init__` imports kmip.pie, SQLAlchemy)."""
    from kmip.core.messages import messages  # noqa: F401


def discover_versions_request(protocol_version: tuple[int, int] = (1, 2)) -> bytes:
    """The encoded request message: one DiscoverVersions batch item, no credential."""
    from kmip.core import enums
    from kmip.core.messages import contents, messages, payloads
    from kmip.core.utils import BytearrayStream

    item = messages.RequestBatchItem(
        operation=contents.Operation(enums.Operation.DISCOVER_VERSIONS),
        request_payload=payloads.DiscoverVersionsRequestPayload(),
    )
    header = messages.RequestHeader(
        protocol_version=contents.ProtocolVersion(*protocol_version),
        batch_count=contents.BatchCount(1),
    )
    stream = BytearrayStream()
    messages.RequestMessage(request_header=header, batch_items=[item]).write(stream)
    return bytes(stream.buffer)


def read_message(recv: Callable[[int], bytes]) -> bytes:
    """One whole TTLV message read through `recv` (EOFError when the server closes first)."""
    header = _read_exactly(recv, _HEADER_BYTES)
    length = struct.unpack("!I", header[4:])[0]
    if length > _MAX_MESSAGE_BYTES:
        raise KmipProtocolError(f"the server announced a {length}-byte message")
    return header + _read_exactly(recv, length)


def _read_exactly(recv: Callable[[int], bytes], count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = recv(count - len(data))
        if not chunk:
            raise EOFError(f"connection closed after {len(data)} of {count} bytes")
        data += chunk
    return data


def parse_discover_versions_response(data: bytes) -> KmipAnswer:
    """Decode the response message (KmipProtocolError when it is not one)."""
    from kmip.core.messages import messages
    from kmip.core.utils import BytearrayStream

    response = messages.ResponseMessage()
    try:
        response.read(BytearrayStream(data))
    except Exception as exc:  # PyKMIP raises many types on bad TTLV
        raise KmipProtocolError(f"not a KMIP response message ({type(exc).__name__})") from exc
    if len(response.batch_items) != 1:
        raise KmipProtocolError(f"{len(response.batch_items)} batch items, expected 1")
    item = response.batch_items[0]
    versions: tuple[str, ...] = ()
    payload = item.response_payload
    if payload is not None and getattr(payload, "protocol_versions", None):
        versions = tuple(f"{v.major}.{v.minor}" for v in payload.protocol_versions)
    return KmipAnswer(
        result_status=_enum_name(item.result_status),
        result_reason=_enum_name(item.result_reason),
        result_message=str(item.result_message.value) if item.result_message else "",
        protocol_versions=versions,
    )


def _enum_name(primitive: object) -> str:
    value = getattr(primitive, "value", None)
    return str(getattr(value, "name", value or ""))


def send_all(sock: socket.socket, data: bytes) -> None:
    """Send the whole request."""
    sock.sendall(data)
