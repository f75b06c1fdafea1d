"""DNS proof of life: a query for a configured name (built and read with dnspython) from the
bound source, over UDP or TCP. Any answer, whatever its rcode, proves the path."""

from __future__ import annotations

import asyncio
import functools
import secrets
import struct
import time

import dns.exception
import dns.message
import dns.rcode
import dns.rdatatype

from auditor.model.record import Status
from auditor.probe.app.outcome import AppOutcome, elapsed_ms
from auditor.probe.app.stream import close
from auditor.probe.app.udp import Reply, Request, ask, family
from auditor.probe.tcp import BoundConnectError, open_bound

SILENCE = "dropped by a firewall, or no DNS server listens there"


async def probe_dns(
    source: str,
    address: str,
    port: int,
    timeout: float,
    *,
    query_name: str,
    query_type: str = "A",
    tcp: bool = False,
) -> AppOutcome:
    """One query for `query_name` from `source`; `dns-answered` with the rcode."""
    if not tcp:
        return await ask(source, address, port, timeout, dns_request(query_name, query_type))
    if family(source) != family(address):
        return AppOutcome(Status.ERROR, "source and destination are different IP versions")
    start = time.perf_counter()
    try:
        query = dns.message.make_query(query_name, dns.rdatatype.from_text(query_type))
        reply = await _tcp(query, source, address, port, timeout)
    except dns.exception.Timeout:
        return AppOutcome(
            Status.BAD_REPLY, f"connected (the path is open), but no DNS reply within {timeout:g} s"
        )
    except dns.exception.DNSException as exc:
        return AppOutcome(Status.BAD_REPLY, f"malformed DNS reply: {exc}")
    if isinstance(reply, AppOutcome):
        return reply
    return answered(reply, query_name, query_type, elapsed_ms(start, time.perf_counter()))


def answered(
    reply: dns.message.Message, query_name: str, query_type: str, latency_ms: float
) -> AppOutcome:
    rcode = dns.rcode.to_text(reply.rcode())
    return AppOutcome(
        Status.DNS_ANSWERED,
        f"{rcode} for {query_name} {query_type}",
        latency_ms,
        {"rcode": rcode, "answers": str(sum(len(r) for r in reply.answer))},
    )


@functools.lru_cache(maxsize=256)
def _template(query_name: str, query_type: str) -> tuple[bytes, dns.message.Message]:
    """The query's wire form and the message itself, built once per name and type: making a
    query costs more than the rest of a probe, and a run sends thousands."""
    query = dns.message.make_query(query_name, dns.rdatatype.from_text(query_type))
    return query.to_wire(), query


def dns_request(query_name: str, query_type: str = "A") -> Request:
    """One query over UDP; its id is the nonce. dnspython's own UDP query sends from an
    unconnected socket, where an ICMP port unreachable is lost; `ask`'s connected socket
    reports it as `refused`."""
    wire, template = _template(query_name, query_type)
    qid = secrets.randbelow(0x10000).to_bytes(2, "big")

    def is_answer(data: bytes) -> bool:
        return len(data) >= 12 and data[:2] == qid and bool(data[2] & 0x80)  # QR: a response

    def read(got: Reply) -> AppOutcome:
        try:
            reply = dns.message.from_wire(got.data)
        except dns.exception.DNSException as exc:
            return AppOutcome(Status.BAD_REPLY, f"malformed DNS reply: {exc}")
        if reply.question and reply.question != template.question:
            return AppOutcome(Status.BAD_REPLY, "the reply answers another question")
        return answered(reply, query_name, query_type, got.latency_ms)

    return Request(qid + wire[2:], is_answer, read, SILENCE)


async def _tcp(
    query: dns.message.Message, source: str, address: str, port: int, timeout: float
) -> dns.message.Message | AppOutcome:
    # Our bound connect classifies refused/filtered like every TCP check; the query then goes
    # with its two-octet length (RFC 1035 4.2.2).
    try:
        sock, _ = await open_bound(source, address, port, timeout)
    except BoundConnectError as exc:
        o = exc.outcome
        return AppOutcome(o.status, o.reason, o.latency_ms)
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(sock=sock)
            wire = query.to_wire()
            writer.write(struct.pack("!H", len(wire)) + wire)
            await writer.drain()
            (length,) = struct.unpack("!H", await reader.readexactly(2))
            data = await reader.readexactly(length)
    except TimeoutError:
        raise dns.exception.Timeout from None
    except (asyncio.IncompleteReadError, ConnectionError) as exc:
        return AppOutcome(Status.BAD_REPLY, f"connection closed without a reply ({exc})")
    finally:
        await close(writer, sock)
    reply = dns.message.from_wire(data)
    if not query.is_response(reply):
        return AppOutcome(Status.BAD_REPLY, "the reply does not match the query")
    return reply
