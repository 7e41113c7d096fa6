"""What one DNS answer says, read from the wire: a vendor-neutral model and its pure parser.

The probe (``holdtime.probes.dns``) asks; this module reads. An answer is described, never
judged: the rcode by name, the records of the asked type, the CNAME chain, what the answer held
that we did not ask for or do not understand (kept, so a check can say ERROR instead of guessing).
dnspython is imported inside the parser: loading an inventory must not import it.
"""

from __future__ import annotations

from dataclasses import dataclass

from holdtime.errors import ParseError

# Outcomes of a query. An answer: "answer" (records of the asked type), "nodata" (NOERROR, none
# of that type), "referral" (NOERROR, no answer, not authoritative, NS but no SOA in the
# authority section: the server does not serve the name and points elsewhere), "nxdomain",
# "servfail", "refused", "rcode" (any other rcode, named in `rcode`), "truncated" (TC set and
# no TCP retry), "malformed" (not a DNS message we can read).
# No answer: "timeout", "connection_refused" (TCP RST or ICMP port unreachable), "unreachable",
# "error" (any other socket error, in `detail`), "not_asked" (skipped: see `detail`).
ANSWERED = frozenset(
    {"answer", "nodata", "referral", "nxdomain", "servfail", "refused", "rcode", "truncated"}
)


@dataclass(frozen=True, slots=True)
class DnsAnswer:
    """One query to one resolver and what came back."""

    resolver: str  # inventory name of the resolver (dc1)
    qname: str  # lower case, no trailing dot
    rdtype: str  # A | AAAA | PTR
    transport: str  # udp | tcp
    outcome: str  # see ANSWERED and the comment above it
    rcode: str = ""  # NOERROR, NXDOMAIN, SERVFAIL, ... ("" when nothing came back)
    records: tuple[str, ...] = ()  # A/AAAA: addresses; PTR: names (lower case, no final dot)
    aliases: tuple[str, ...] = ()  # the CNAME chain followed to the records
    unexpected: tuple[str, ...] = ()  # answer records we did not ask for or cannot read
    authoritative: bool = False
    seconds: float | None = None  # from sending the query to reading the answer (or giving up)
    truncated_udp: bool = False  # the UDP answer had TC set; this answer is the TCP retry
    detail: str = ""

    @property
    def answered(self) -> bool:
        """The resolver sent a DNS message back (whatever it said)."""
        return self.outcome in ANSWERED

    @property
    def label(self) -> str:
        """`dc1 A vcenter.example.net over udp`."""
        return f"{self.resolver} {self.rdtype} {self.qname} over {self.transport}"


@dataclass(frozen=True, slots=True)
class ReadAnswer:
    """What a DNS response message says about one question (the parser's result)."""

    outcome: str
    rcode: str
    records: tuple[str, ...]
    aliases: tuple[str, ...]
    unexpected: tuple[str, ...]
    authoritative: bool
    truncated: bool


def normal_name(text: str) -> str:
    """`VCenter.Example.NET.` -> `vcenter.example.net`."""
    return text.rstrip(".").lower()


def parse_dns_wire(wire: bytes, qname: str, rdtype: str) -> ReadAnswer:
    """Parse a DNS response (wire format, as received) to the question `qname`/`rdtype`.

    Raises ParseError when the bytes are not a DNS response to that question.
    """
    import dns.exception
    import dns.message

    if not wire:
        raise ParseError("empty DNS response")
    try:
        message = dns.message.from_wire(wire, ignore_trailing=False)
    except (dns.exception.DNSException, ValueError, IndexError) as exc:
        raise ParseError(f"not a DNS message: {exc or type(exc).__name__}") from None
    return read_message(message, qname, rdtype)


def read_message(message: object, qname: str, rdtype: str) -> ReadAnswer:
    """Read a dnspython `Message` that answers `qname`/`rdtype` (ParseError when it does not)."""
    import dns.flags
    import dns.message
    import dns.rcode
    import dns.rdatatype

    if not isinstance(message, dns.message.Message):
        raise ParseError(f"not a DNS message: {type(message).__name__}")
    if not message.flags & dns.flags.QR:
        raise ParseError("a DNS query, not a response (QR flag clear)")
    asked = normal_name(qname)
    questions = [
        (normal_name(q.name.to_text()), dns.rdatatype.to_text(q.rdtype)) for q in message.question
    ]
    if questions != [(asked, rdtype)]:
        raise ParseError(f"answers {questions or 'no question'}, not {asked} {rdtype}")
    rcode = dns.rcode.to_text(message.rcode())
    authoritative = bool(message.flags & dns.flags.AA)
    truncated = bool(message.flags & dns.flags.TC)
    wanted = dns.rdatatype.from_text(rdtype)
    owner = asked
    aliases: list[str] = []
    records: list[str] = []
    unexpected: list[str] = []
    for rrset in message.answer:
        name = normal_name(rrset.name.to_text())
        if rrset.rdtype == dns.rdatatype.CNAME and name == owner:
            owner = normal_name(rrset[0].target.to_text())
            aliases.append(owner)
        elif rrset.rdtype == wanted and name == owner:
            records += [_rdata_text(rdata, rdtype) for rdata in rrset]
        elif rrset.rdtype != dns.rdatatype.RRSIG:
            unexpected.append(rrset.to_text())
    authority = {rrset.rdtype for rrset in message.authority}
    # A referral: no answer, not authoritative, NS records and no SOA in the authority section
    # (a recursive resolver's NODATA carries the zone's SOA for negative caching).
    referral = (
        not authoritative and dns.rdatatype.SOA not in authority and dns.rdatatype.NS in authority
    )
    outcome = _outcome(rcode, bool(records), referral, truncated)
    return ReadAnswer(
        outcome=outcome,
        rcode=rcode,
        records=tuple(sorted(records)),
        aliases=tuple(aliases),
        unexpected=tuple(unexpected),
        authoritative=authoritative,
        truncated=truncated,
    )


def _rdata_text(rdata: object, rdtype: str) -> str:
    if rdtype == "PTR":
        return normal_name(rdata.target.to_text())  # type: ignore[attr-defined]
    return str(rdata.address)  # type: ignore[attr-defined]


def _outcome(rcode: str, has_records: bool, referral: bool, truncated: bool) -> str:
    # named 9.18 sends the records that fit with TC set (29 of 40 A records over UDP without
    # EDNS): a partial answer, never read as the whole one.
    if truncated:
        return "truncated"
    if rcode == "NOERROR":
        if has_records:
            return "answer"
        return "referral" if referral else "nodata"
    return {"NXDOMAIN": "nxdomain", "SERVFAIL": "servfail", "REFUSED": "refused"}.get(
        rcode, "rcode"
    )
