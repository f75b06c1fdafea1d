"""What the vendor formats' options share: the name checks, and how each reads --before."""

from __future__ import annotations

import re

from auditor.errors import UsageError

# A name a vendor CLI takes unquoted: no space, no quote, no separator of any of the syntaxes.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
VENDORS = ("panos", "fortigate", "asa", "checkpoint", "srx")
FORTIOS_VERSIONS = ("6.4", "7.0", "7.2", "7.4", "7.6")
# PAN-OS object names (tags, profiles): letters, digits, spaces, hyphens and underscores, at
# most 63 characters; written double-quoted.
_PANOS_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_ -]{0,62}$")


def name_problems(names: tuple[tuple[str, str | None], ...]) -> list[str]:
    """One message per (flag, value) that is not a name a vendor CLI takes unquoted."""
    return [
        f"{label} {value!r}: expected 1-63 of A-Z a-z 0-9 _ . -, starting with a letter or digit"
        for label, value in names
        if value is not None and not _NAME.fullmatch(value)
    ]


def panos_name_problems(names: tuple[tuple[str, str | None], ...]) -> list[str]:
    """One message per (flag, value) that is not a PAN-OS object name."""
    return [
        f"{label} {value!r}: expected a PAN-OS name: 1-63 of letters, digits, spaces, "
        "hyphens and underscores"
        for label, value in names
        if value is not None and (not _PANOS_NAME.fullmatch(value) or value != value.strip())
    ]


def is_position(before: str) -> bool:
    """`--before 5` is a position (a number); anything else names a rule."""
    return re.fullmatch(r"[0-9]{1,9}", before) is not None


# How each vendor format reads --before: a rule name, a position, or neither.
BEFORE_READS = {
    "panos": "the name of the rule to move ahead of (`move ... before NAME`)",
    "srx": "the name of the policy to insert ahead of (`insert ... before policy NAME`)",
    "checkpoint": "the name of the rule to go above (`position.above`), or a rule number "
    "(`position N`)",
    "asa": "the line number of the entry to go ahead of (`access-list ACL line N`)",
    "fortigate": "nothing: policies are created with `edit 0` and the device picks their IDs, "
    "so no move in the file can name them (the ticket shows the move by ID)",
}


def before_problem(before: str | None, vendor: str) -> str | None:
    """Why `vendor` cannot honour `--before` (None: it can, or none was given)."""
    if before is None or vendor not in BEFORE_READS:
        return None
    position = is_position(before)
    if vendor == "fortigate":
        what = "a position" if position else "a rule name"
        return (
            f"fortigate: --before {before!r}: cannot place its policies before {what}: they are "
            "created with `edit 0` (the device picks their IDs); leave fortigate out, or move "
            "them by ID after loading (the fortigate ticket shows how)"
        )
    if vendor in ("panos", "srx") and position:
        return (
            f"{vendor}: --before {before!r}: reads --before as a rule name, not a position: "
            "give the name of the deny rule to go ahead of"
        )
    if vendor == "asa" and not position:
        return (
            f"asa: --before {before!r}: needs the ACL line number of the entry to go ahead of "
            "(an ASA access-list has no rule names)"
        )
    if position and int(before) < 1:
        return f"{vendor}: --before {before!r}: positions start at 1"
    return None


def before_number(before: str | None, vendor: str) -> int | None:
    """`--before` as the ASA line number or Check Point rule number it must be there."""
    if before is None:
        return None
    problem = before_problem(before, vendor)
    if problem is not None:
        raise ValueError(problem)
    return int(before)


def format_problems(before: str | None, formats: list[str]) -> list[str]:
    """What the chosen formats refuse of --before (checked before anything is probed): one line
    per format that cannot honour it, naming that format."""
    return [p for f in VENDORS if f in formats if (p := before_problem(before, f)) is not None]


def check_before(before: str | None, vendor: str) -> None:
    """A UsageError when `vendor` cannot honour `--before` (renderers call it: the CLI checks
    the requested formats before anything runs, with the same words)."""
    problem = before_problem(before, vendor)
    if problem is not None:
        raise UsageError(problem)
