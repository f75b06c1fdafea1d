"""Ruleset files in, typed rulesets out: the kind of each file is read from its content."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from auditor.errors import InputError, Problem
from auditor.ruleset.ipset import IpSet, parse_ipset
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.model import Kind, Ruleset
from auditor.ruleset.nft import parse_nft

_TABLE = re.compile(r"^\*(filter|nat|mangle|raw|security)\s*$", re.MULTILINE)


def detect_kind(text: str) -> Kind | None:
    """nft JSON, ipset save or iptables-save (ip6tables-save is told apart while reading)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        return Kind.NFT
    if _TABLE.search(text):
        return Kind.IPTABLES
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        return Kind.IPSET if words[0] in ("create", "add") else None
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError([Problem(str(path), None, "", f"cannot read: {reason}")]) from None


def read_rulesets(paths: Sequence[Path], ipset_paths: Sequence[Path] = ()) -> tuple[Ruleset, ...]:
    """Every ruleset of the files given; ipset documents feed the iptables `-m set` matches."""
    texts = [(p, _read(p)) for p in (*ipset_paths, *paths)]
    sets: dict[str, IpSet] = {}
    problems: list[Problem] = []
    kinds = {}
    for path, text in texts:
        kind = detect_kind(text)
        if kind is None:
            problems.append(
                Problem(
                    str(path),
                    1,
                    "ruleset",
                    "not iptables-save, ip6tables-save, ipset save or nft -j list ruleset output",
                )
            )
        elif kind is Kind.IPSET:
            sets |= _collect(parse_ipset, text, str(path), problems)
        kinds[path] = kind
    if problems:
        raise InputError(problems)
    out: list[Ruleset] = []
    for path, text in texts:
        try:
            if kinds[path] is Kind.NFT:
                out.append(parse_nft(text, str(path)))
            elif kinds[path] is Kind.IPTABLES:
                out += parse_iptables(text, str(path), sets)
        except InputError as exc:
            problems += exc.problems
    if problems:
        raise InputError(problems)
    return tuple(out)


def _collect(parse: object, text: str, source: str, problems: list[Problem]) -> Mapping[str, IpSet]:
    try:
        return parse_ipset(text, source)
    except InputError as exc:
        problems += exc.problems
        return {}
