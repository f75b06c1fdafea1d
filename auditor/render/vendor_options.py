"""The placement options of the vendor formats, checked once where RenderOptions is built."""

from __future__ import annotations

import re
from datetime import date
from typing import Protocol

from auditor.textout import quoted

# A name a vendor CLI takes unquoted: no space, no quote, no separator of any of the syntaxes.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
VENDORS = ("panos", "fortigate", "asa", "checkpoint", "srx")
# FortiGate moves policies by ID and ASA inserts by line number: --before must be a number there.
NUMERIC_BEFORE = ("fortigate", "asa")


class _VendorFields(Protocol):
    @property
    def before(self) -> str | None: ...
    @property
    def panos_device_group(self) -> str | None: ...
    @property
    def from_zone(self) -> str: ...
    @property
    def to_zone(self) -> str: ...
    @property
    def srcintf(self) -> str: ...
    @property
    def dstintf(self) -> str: ...
    @property
    def acl(self) -> str | None: ...
    @property
    def expires(self) -> str: ...
    @property
    def vendor(self) -> str | None: ...


def vendor_problems(options: _VendorFields) -> list[str]:
    """One message per bad vendor option (none: all fine)."""
    problems: list[str] = []
    names = (
        ("--before", options.before),
        ("--panos-device-group", options.panos_device_group),
        ("--from-zone", options.from_zone),
        ("--to-zone", options.to_zone),
        ("--srcintf", options.srcintf),
        ("--dstintf", options.dstintf),
        ("--acl", options.acl),
    )
    for label, value in names:
        if value is not None and not _NAME.fullmatch(value):
            problems.append(
                f"{label} {quoted(value)}: expected 1-63 of A-Z a-z 0-9 _ . -, starting with a "
                "letter or digit"
            )
    if options.expires:
        try:
            date.fromisoformat(options.expires)
        except ValueError:
            problems.append(f"--expires {quoted(options.expires)}: expected a date, YYYY-MM-DD")
        else:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", options.expires):
                problems.append(f"--expires {quoted(options.expires)}: expected a date, YYYY-MM-DD")
    if options.vendor is not None and options.vendor not in VENDORS:
        problems.append(f"--vendor {quoted(options.vendor)}: expected one of {', '.join(VENDORS)}")
    return problems


def before_number(before: str | None, vendor: str) -> int | None:
    """`--before` as the FortiGate policy ID or ASA line number it must be there."""
    if before is None:
        return None
    if not re.fullmatch(r"[0-9]{1,9}", before) or int(before) < 1:
        what = "the ID of the deny policy" if vendor == "fortigate" else "the ACL line number"
        raise ValueError(f"--before {quoted(before)}: {vendor} needs {what} (a number)")
    return int(before)


def format_problems(before: str | None, formats: list[str]) -> list[str]:
    """What the chosen formats refuse of --before (checked before anything is probed)."""
    out: list[str] = []
    for vendor in NUMERIC_BEFORE:
        if vendor in formats:
            try:
                before_number(before, vendor)
            except ValueError as exc:
                out.append(str(exc))
    return out
