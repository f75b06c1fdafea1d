"""Ruleset files in, typed rulesets out: the kind of each file is read from its content."""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from auditor.documents.yamlsource import read_bytes
from auditor.errors import InputError, Problem
from auditor.ruleset.ipset import IpSet, parse_ipset
from auditor.ruleset.iptables import parse_iptables
from auditor.ruleset.jumps import jump_problems
from auditor.ruleset.model import Kind, Ruleset
from auditor.ruleset.nft import parse_nft
from auditor.ruleset.nft_shape import MAX_ELEMENTS
from auditor.textout import printable

_TABLE = re.compile(r"^\*(filter|nat|mangle|raw|security)\s*$", re.MULTILINE)
# A dump of a real firewall: 64 MiB, 200,000 rules and 2,000,000 set elements per file hold the
# largest (kube-proxy, country blocklists); rules and ipset elements are counted before parsing,
# so a bomb costs nothing; nft set elements are counted as the listing is read.
MAX_BYTES = 64 * 1024 * 1024
MAX_ITEMS = 200_000  # rules
# Every control character but tab and the line end: iptables-save, ipset save and nft -j never
# write one raw, and `str.splitlines` would split on several (\x0b, \x1c, \u2028...).
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_PLAIN_ASCII = bytes([9, 10, 13, *range(32, 127)])
_RULE = re.compile(r'^[ \t]*(?:\[\d+:\d+\][ \t]*)?-A[ \t]|"rule"\s*:', re.M)
_ELEMENT = re.compile(r"^[ \t]*add[ \t]", re.M)
_MANY_OBJECTS = 100_000
_WORDS = {_RULE: ("-A", '"rule"'), _ELEMENT: ("add",)}


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
    """The text of a regular file of at most MAX_BYTES (a FIFO is refused, not waited on),
    UTF-8, without control characters, with at most MAX_ITEMS rules and MAX_ELEMENTS ipset
    elements."""
    display = str(path)
    raw = read_bytes(path, display, MAX_BYTES, "a ruleset or ipset dump")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError([Problem(display, line, "ruleset", "not UTF-8 text")]) from None
    # Plain ASCII (the common case) is told in one pass over the bytes; else the search says where.
    bad = _CONTROL.search(text) if raw.translate(None, _PLAIN_ASCII) else None
    if bad is not None:
        line = text.count("\n", 0, bad.start()) + 1
        shown = printable(bad.group())
        message = f"control character {shown} (a ruleset dump never holds one)"
        raise InputError([Problem(display, line, "ruleset", message)])
    json = text.lstrip().startswith("{")
    if not json or text.count('"rule"') > MAX_ITEMS:  # str.count: fast on a 60 MB listing
        _count(text, display, _RULE, MAX_ITEMS, "rules")
    if not json:
        _count(text, display, _ELEMENT, MAX_ELEMENTS, "set elements")
    return text


def _count(text: str, display: str, pattern: re.Pattern[str], limit: int, what: str) -> None:
    if sum(text.count(word) for word in _WORDS[pattern]) <= limit:
        return  # each item holds one of these words: no more items than that (str.count: fast)
    for count, item in enumerate(pattern.finditer(text), 1):
        if count > limit:
            line = text.count("\n", 0, item.start()) + 1
            message = f"more than {limit} {what} in one file (split it)"
            raise InputError([Problem(display, line, "ruleset", message)])


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cycle collector paused while dumps are read: 200,000 rules make millions of objects
    and no garbage cycle, and each full collection walked them all again (more than half of the
    reading time). Reference counting frees as always; the collector resumes after, with one
    full pass when the read left many new objects (left to itself, the collector would walk
    them three times, young, middle-aged and old)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            if gc.get_count()[0] > _MANY_OBJECTS:
                gc.collect()


@gc_paused()
def read_rulesets(paths: Sequence[Path], ipset_paths: Sequence[Path] = ()) -> tuple[Ruleset, ...]:
    """Every ruleset of the files given; ipset documents feed the iptables `-m set` matches."""
    # A file named twice (or as --ipset and --ruleset) is read once: its sets are not rivals.
    texts = [(p, _read(p)) for p in dict.fromkeys((*ipset_paths, *paths))]
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
                    "not iptables-save, ip6tables-save, ipset save or nft -j list ruleset output "
                    "(nor PAN-OS configuration XML starting with <config>)",
                )
            )
        elif kind is Kind.IPSET:
            found = _collect(parse_ipset, text, str(path), problems)
            problems += _duplicate_sets(sets, found, text, str(path))
            sets |= found
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
    for ruleset in out:
        problems += jump_problems(ruleset)
    if problems:
        raise InputError(problems)
    return tuple(out)


def _duplicate_sets(
    sets: Mapping[str, IpSet], found: Mapping[str, IpSet], text: str, source: str
) -> list[Problem]:
    """A set name given by two files: which one the firewall holds is unknown."""
    problems = []
    for name in sorted(found.keys() & sets.keys()):
        at = re.search(rf"^[ \t]*(?:create|-N)[ \t]+{re.escape(name)}[ \t]", text, re.M)
        line = text.count("\n", 0, at.start()) + 1 if at else 1
        problems.append(Problem(source, line, "ipset", f"set {name} is also in another file"))
    return problems


def _collect(parse: object, text: str, source: str, problems: list[Problem]) -> Mapping[str, IpSet]:
    try:
        return parse_ipset(text, source)
    except InputError as exc:
        problems += exc.problems
        return {}
