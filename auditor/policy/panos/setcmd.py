"""PAN-OS configuration-mode commands (`set ...`, `move ...`, as `auditor rules --format panos`
writes them) applied to a parsed configuration in memory, so that a change can be proven
against the policy it goes into. The commands are read generically (a path of keywords, entry
names after list keywords, `[ a b ]` member lists), never by the generated objects' names."""

from __future__ import annotations

import copy
import shlex
from collections.abc import Sequence
from xml.etree.ElementTree import Element, SubElement

from auditor.errors import InputError, Problem
from auditor.policy.panos.read import Config, Selection
from auditor.policy.panos.xmlsource import LINE

# Keywords followed by an entry name (`address NAME`, `rules NAME`).
ENTRY_LISTS = frozenset(
    {"address", "address-group", "service", "service-group", "application-group", "tag",
     "rules", "zone", "schedule", "region", "external-list", "application-filter"}
)  # fmt: skip
# Keys whose value is a member list (`from trust`, `source [ a b ]`, `static [ a b ]`).
MEMBER_KEYS = frozenset(
    {"from", "to", "source", "destination", "application", "service", "source-user",
     "category", "tag", "static", "members", "source-hip", "destination-hip", "hip-profiles"}
)  # fmt: skip
# Keys whose value is the name of a child element holding more keys (`protocol tcp port 636`).
NESTED = frozenset({"protocol", "destination-translation", "source-translation"})
RULEBASES = frozenset({"rulebase", "pre-rulebase", "post-rulebase"})


def apply_commands(
    configs: Sequence[Config], text: str, selection: Selection, source: str = "panos.set"
) -> tuple[Config, ...]:
    """The configurations as they would be after the commands; refusals name their line."""
    copies = {c.source: Config(c.source, copy.deepcopy(c.root)) for c in configs}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            words = shlex.split(line)
            _command(list(copies.values()), words, selection)
        except (ValueError, IndexError) as exc:
            raise InputError([Problem(source, number, "change", str(exc))]) from None
    return tuple(copies.values())


def _command(configs: list[Config], words: list[str], selection: Selection) -> None:
    verb, rest = words[0], words[1:]
    if verb not in ("set", "move"):
        raise ValueError(f"{verb!r} is not a command a change applies (expected set or move)")
    base, rest = _scope(configs, rest, selection)
    if verb == "move":
        _move(base, rest)
        return
    _set(base, rest)


def _scope(
    configs: list[Config], words: list[str], selection: Selection
) -> tuple[Element, list[str]]:
    """The element the command's path starts from: a device group, shared, or the vsys."""
    panorama = next((c for c in configs if c.panorama), None)
    firewall = next((c for c in configs if not c.panorama), None)
    if words[0] == "device-group":
        if panorama is None:
            raise ValueError("a device-group command, but no Panorama export was given")
        name = words[1]
        for entry in panorama.root.findall("devices/entry/device-group/entry"):
            if entry.get("name") == name:
                return entry, words[2:]
        raise ValueError(f"no device group named {name} in {panorama.source}")
    if words[0] == "shared":
        owner = panorama or firewall
        assert owner is not None
        shared = owner.root.find("shared")
        if shared is None:
            shared = SubElement(owner.root, "shared")
        return shared, words[1:]
    if firewall is None:
        raise ValueError("a firewall command, but no firewall configuration was given")
    entries = firewall.root.findall("devices/entry/vsys/entry")
    wanted = selection.vsys
    if words[0] == "vsys":
        wanted, words = words[1], words[2:]
    for entry in entries:
        if wanted is None or entry.get("name") == wanted:
            return entry, words
    raise ValueError(f"no vsys named {wanted} in {firewall.source}")


def _child(parent: Element, tag: str, name: str | None = None) -> Element:
    for child in parent.findall(tag if name is None else "entry"):
        if name is None or child.get("name") == name:
            return child
    child = SubElement(parent, tag if name is None else "entry")
    if name is not None:
        child.set("name", name)
    child.set(LINE, "0")
    return child


def _set(base: Element, words: list[str]) -> None:
    at = base
    while words:
        word = words.pop(0)
        if word in ENTRY_LISTS:
            at = _child(_child(at, word), "entry", words.pop(0))
            _attributes(at, words)
            return
        at = _child(at, word)
    raise ValueError("a set command without a value")


def _attributes(entry: Element, words: list[str]) -> None:
    while words:
        key = words.pop(0)
        if not words:
            raise ValueError(f"{key} without a value")
        if key in NESTED:
            entry = _child(_child(entry, key), words.pop(0))
            continue
        values = _value(words)
        element = _child(entry, key)
        if key in MEMBER_KEYS:
            have = {(m.text or "") for m in element.findall("member")}
            for value in values:
                if value not in have:
                    SubElement(element, "member").text = value
        else:
            if len(values) != 1:
                raise ValueError(f"{key} takes one value, not a list")
            element.text = values[0]


def _value(words: list[str]) -> list[str]:
    first = words.pop(0)
    if first != "[":
        return [first]
    out = []
    while words and words[0] != "]":
        out.append(words.pop(0))
    if not words:
        raise ValueError("a [ list without its ]")
    words.pop(0)
    return out


def _move(base: Element, words: list[str]) -> None:
    """`move RULEBASE security rules NAME before|after OTHER` or `top`/`bottom`."""
    if len(words) < 5 or words[0] not in RULEBASES or words[1:3] != ["security", "rules"]:
        raise ValueError("expected move [SCOPE] RULEBASE security rules NAME WHERE [OTHER]")
    rulebase, name, where = words[0], words[3], words[4]
    rules = base.find(f"{rulebase}/security/rules")
    entries = rules.findall("entry") if rules is not None else []
    moving = next((e for e in entries if e.get("name") == name), None)
    if rules is None or moving is None:
        raise ValueError(f"no rule {name} in {rulebase} to move")
    rules.remove(moving)
    if where == "top":
        rules.insert(0, moving)
    elif where == "bottom":
        rules.append(moving)
    elif where in ("before", "after") and len(words) > 5:
        others = list(rules.findall("entry"))
        other = next((i for i, e in enumerate(others) if e.get("name") == words[5]), None)
        if other is None:
            raise ValueError(f"no rule {words[5]} in {rulebase} to move {name} {where}")
        index = list(rules).index(others[other]) + (1 if where == "after" else 0)
        rules.insert(index, moving)
    else:
        raise ValueError(f"move ... {where} (expected top, bottom, before RULE or after RULE)")
