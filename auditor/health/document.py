"""The check_health document of the appliance's command API, parsed safely.

The vendor's command.xsd is the authority; elements are read by local name, whatever the root
element and namespace. defusedxml refuses any DTD, so neither entity expansion nor external
references (local files, URLs) can happen, and the document is size-capped before parsing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from netaddr import AddrFormatError, IPAddress

from auditor.model.livestate import FailoverRole
from auditor.redact import redact
from auditor.textout import printable

MAX_DOCUMENT = 64 * 1024  # a health document is a few hundred bytes
MAX_TEXT = 500  # an element's text we keep (an error message, a version)


class DocumentError(ValueError):
    """The answer is not a usable check_health document (the message says why, never echoes
    the document)."""


@dataclass(frozen=True, slots=True)
class HealthDocument:
    """What one appliance says about itself."""

    success: bool
    failover_role: FailoverRole
    enabled_shared_ips: tuple[IPAddress, ...] = ()
    error_message: str | None = None
    hostname: str | None = None  # <appliance>
    appliance_id: str | None = None  # <appliance id="GUID">
    version: str | None = None
    last_sync_time: datetime | None = None  # aware, UTC
    last_sync_status: str | None = None


def parse_health(data: bytes) -> HealthDocument:
    """Parse a check_health answer. Raises DocumentError with a one-line reason."""
    if len(data) > MAX_DOCUMENT:
        raise DocumentError(f"the document is larger than {MAX_DOCUMENT} bytes (refused)")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise DocumentError(
            f"the document declares a DTD or entities ({type(exc).__name__}; refused: "
            "entities and external references are never read)"
        ) from None
    except ParseError as exc:
        raise DocumentError(f"not well-formed XML ({exc})") from None
    elements = _by_local_name(root)
    role_text = _text(elements, "failover_role")
    if role_text is None:
        raise DocumentError("no failover_role element (is this a check_health answer?)")
    try:
        role = FailoverRole(role_text.strip().lower())
    except ValueError:
        raise DocumentError(
            f"failover_role {_quote(role_text)} is not one of none, primary, backup"
        ) from None
    success_text = _text(elements, "success")
    if success_text is None or success_text.strip() not in ("0", "1"):
        raise DocumentError("no success element with 1 or 0")
    appliance = elements.get("appliance")
    return HealthDocument(
        success=success_text.strip() == "1",
        failover_role=role,
        enabled_shared_ips=_shared_ips(root),
        error_message=_text(elements, "error_message"),
        hostname=_text(elements, "appliance"),
        appliance_id=_clip(appliance.get("id")) if appliance is not None else None,
        version=_text(elements, "version"),
        last_sync_time=_sync_time(elements.get("last_data_sync_time")),
        last_sync_status=_text(elements, "last_data_sync_status"),
    )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


# The elements a check_health answer holds once: a second one is a malformed answer (which of
# two `failover_role`s is the truth?), never read first-wins.
SINGLE_VALUED = (
    "appliance",
    "version",
    "success",
    "error_message",
    "failover_role",
    "enabled_shared_ips",
    "last_data_sync_time",
    "last_data_sync_status",
)


def _by_local_name(root: Element) -> dict[str, Element]:
    """The element of each local name, the root included; DocumentError when a single-valued
    element appears more than once."""
    found: dict[str, Element] = {}
    counts: dict[str, int] = {}
    for element in root.iter():
        name = _local(element.tag)
        counts[name] = counts.get(name, 0) + 1
        found.setdefault(name, element)
    repeated = [name for name in SINGLE_VALUED if counts.get(name, 0) > 1]
    if repeated:
        listed = ", ".join(f"{name} ({counts[name]} times)" for name in repeated)
        raise DocumentError(
            f"repeated elements: {listed} (a check_health answer holds each once; refused "
            "rather than read the first)"
        )
    return found


def _clip(text: str | None) -> str | None:
    """The appliance's text as the product keeps it: secrets redacted (before the cut, which
    would leave a secret unrecognisable), one line, every unsafe character escaped visibly."""
    if text is None:
        return None
    text = printable(" ".join(redact(text).split()))
    return text[:MAX_TEXT] if text else None


def _text(elements: dict[str, Element], name: str) -> str | None:
    element = elements.get(name)
    return None if element is None else _clip("".join(element.itertext()))


def _quote(text: str) -> str:
    """A value of the answer inside a message: redacted, visible, at most 40 characters."""
    shown = printable(redact(text))
    return f'"{shown[:40]}"' + ("..." if len(shown) > 40 else "")


def _shared_ips(root: Element) -> tuple[IPAddress, ...]:
    ips: list[IPAddress] = []
    for holder in root.iter():
        if _local(holder.tag) != "enabled_shared_ips":
            continue
        for child in holder:
            if _local(child.tag) != "ip":
                continue
            text = (child.text or "").strip()
            try:
                ip = IPAddress(text, 6 if ":" in text else 4)
            except (AddrFormatError, ValueError, TypeError):
                raise DocumentError(
                    f"enabled_shared_ips holds {_quote(text)}, not an IP address"
                ) from None
            if ip not in ips:
                ips.append(ip)
    return tuple(sorted(ips, key=lambda ip: (ip.version, int(ip))))


def _sync_time(element: Element | None) -> datetime | None:
    """`ts` (a UNIX timestamp, UTC) when present, unambiguous; else the ISO 8601 text."""
    if element is None:
        return None
    ts = (element.get("ts") or "").strip()
    if ts:
        try:
            return datetime.fromtimestamp(int(ts), UTC)
        except (ValueError, OverflowError, OSError):
            raise DocumentError(f"last_data_sync_time ts={_quote(ts)} is not a timestamp") from None
    text = (element.text or "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise DocumentError(f"last_data_sync_time {_quote(text)} is not an ISO 8601 time") from None
    # A time without an offset is read as UTC, as the vendor documents the timestamp.
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
