"""PAN-OS security and NAT rules into the model, in the order the firewall evaluates them
(administrator's guide, "Security Policy" and Panorama "Device Group Policies"): Panorama's
shared pre-rules, the device group's pre-rules (ancestors first), the firewall's local rules,
the device group's post-rules, shared post-rules, then intrazone-default (allow) and
interzone-default (deny), or their overrides. Disabled rules are skipped."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree.ElementTree import Element

from auditor.errors import Problem
from auditor.policy.model import (
    ANY,
    Action,
    AddressSet,
    DefaultRule,
    NatRule,
    PolicyRule,
    RuleType,
    ServiceSet,
)
from auditor.policy.panos.objects import Objects, literal_spans
from auditor.policy.panos.xmlsource import line_of

_ACTIONS = {a.value: a for a in Action}
ANY_ADDRESS = AddressSet(any=True)
ANY_SERVICE = ServiceSet(any=True)
_RULE_TYPES = frozenset(t.value for t in RuleType)
_CONDITIONS = (
    ("source-user", "source-user {}: the user is decided at runtime (User-ID)"),
    ("source-hip", "source-hip {}: HIP profiles are decided at runtime"),
    ("destination-hip", "destination-hip {}: HIP profiles are decided at runtime"),
    ("hip-profiles", "hip-profiles {}: HIP profiles are decided at runtime"),
    ("category", "URL category {}: decided by the URL the client asks for"),
)
Section = tuple[str, Element, Objects]  # (label, <rules> parent element, the names it sees)


def _members(entry: Element, tag: str) -> list[Element]:
    """The members of every `tag` child (PAN-OS writes one; a generated file may repeat it)."""
    return [m for child in entry if child.tag == tag for m in child if m.tag == "member"]


def _zones(entry: Element, tag: str) -> frozenset[str] | None:
    names = frozenset((m.text or "").strip() for m in _members(entry, tag))
    return None if not names or ANY in names else names


def _yes(entry: Element, tag: str) -> bool:
    return (entry.findtext(tag) or "").strip() == "yes"


def security_rules(
    sections: Sequence[Section], problems: list[Problem], source: str
) -> tuple[PolicyRule, ...]:
    out = []
    for label, rulebase, objects in sections:
        for entry in rulebase.findall("security/rules/entry"):
            if _yes(entry, "disabled"):
                continue
            rule = _security_rule(label, entry, objects, problems, source)
            if rule is not None:
                out.append(rule)
    return tuple(out)


def _action(entry: Element, name: str, problems: list[Problem], source: str) -> Action | None:
    text = (entry.findtext("action") or "").strip()
    action = _ACTIONS.get(text)
    if action is None:
        expected = ", ".join(_ACTIONS)
        problems.append(
            Problem(
                source, line_of(entry), f"rule {name} action", f"{text!r} (expected {expected})"
            )
        )
    return action


def _security_rule(
    label: str, entry: Element, objects: Objects, problems: list[Problem], source: str
) -> PolicyRule | None:
    name = entry.get("name", "")
    action = _action(entry, name, problems, source)
    if action is None:
        return None
    rule_type = (entry.findtext("rule-type") or "universal").strip()
    if rule_type not in _RULE_TYPES:
        message = f"{rule_type!r} (expected universal, intrazone or interzone)"
        problems.append(Problem(source, line_of(entry), f"rule {name} rule-type", message))
        return None
    missing = [t for t in ("from", "to", "source", "destination") if not _members(entry, t)]
    if missing:
        message = f"no {', '.join(missing)} members (a PAN-OS rule has them, `any` at least)"
        problems.append(Problem(source, line_of(entry), f"rule {name}", message))
        return None
    conditions = []
    for tag, why in _CONDITIONS:
        names = [(m.text or "").strip() for m in _members(entry, tag)]
        if names and ANY not in names:
            conditions.append(why.format(", ".join(names)))
    schedule = (entry.findtext("schedule") or "").strip()
    if schedule:
        conditions.append(f"schedule {schedule}: whether it is active depends on the time")
    if entry.find("target/devices/entry") is not None:
        conditions.append("target: the rule is pushed to some firewalls of the device group only")
    return PolicyRule(
        name=name,
        section=label,
        line=line_of(entry),
        action=action,
        from_zones=_zones(entry, "from"),
        to_zones=_zones(entry, "to"),
        rule_type=RuleType(rule_type),
        source=objects.addresses(_members(entry, "source"), f"rule {name} source"),
        destination=objects.addresses(_members(entry, "destination"), f"rule {name} destination"),
        negate_source=_yes(entry, "negate-source"),
        negate_destination=_yes(entry, "negate-destination"),
        service=objects.services(_members(entry, "service")),
        applications=objects.application_names(_members(entry, "application")),
        conditions=tuple(conditions),
    )


def defaults(
    rulebases: Sequence[tuple[str, Element | None]], problems: list[Problem], source: str
) -> tuple[DefaultRule, DefaultRule]:
    """intrazone-default and interzone-default: the first override found in `rulebases`
    (the most specific first), else PAN-OS's predefined allow / deny."""
    found = {
        "intrazone-default": DefaultRule("intrazone-default", Action.ALLOW, "predefined"),
        "interzone-default": DefaultRule("interzone-default", Action.DENY, "predefined"),
    }
    done: set[str] = set()
    for label, rulebase in rulebases:
        if rulebase is None:
            continue
        for entry in rulebase.findall("default-security-rules/rules/entry"):
            name = entry.get("name", "")
            if name not in found or name in done or entry.find("action") is None:
                continue
            action = _action(entry, name, problems, source)
            if action is not None:
                found[name] = DefaultRule(name, action, f"{label} override", line_of(entry))
                done.add(name)
    return found["intrazone-default"], found["interzone-default"]


def nat_rules(
    sections: Sequence[Section], problems: list[Problem], source: str
) -> tuple[NatRule, ...]:
    out = []
    for _, rulebase, objects in sections:
        for entry in rulebase.findall("nat/rules/entry"):
            if _yes(entry, "disabled"):
                continue
            rule = _nat_rule(entry, objects, problems, source)
            static = entry.find("source-translation/static-ip")
            if static is not None and (static.findtext("bi-directional") or "").strip() == "yes":
                # the implicit reverse rule: traffic to the translated source is sent back
                back = objects.addresses(static.findall("translated-address"), "nat")
                why = "bi-directional static NAT sends it to the original source (not modelled)"
                out.append(NatRule(f"{rule.name} (bi-directional)", rule.line, None, None,
                                   ANY_ADDRESS, back, ANY_SERVICE, why))  # fmt: skip
            out.append(rule)
    return tuple(out)


def forwarding_rules(sections: Sequence[Section]) -> tuple[NatRule, ...]:
    """Policy-based forwarding rules: a packet they match leaves by the interface (or next hop)
    they choose, not the route's; modelled as what makes the egress zone unknown."""
    out = []
    for _, rulebase, objects in sections:
        for entry in rulebase.findall("pbf/rules/entry"):
            if _yes(entry, "disabled"):
                continue
            name = entry.get("name", "")
            service = Element("member")
            service.text = (entry.findtext("service/member") or ANY).strip()
            why = f"policy-based forwarding rule {name} may choose the egress interface"
            out.append(
                NatRule(
                    name=name,
                    line=line_of(entry),
                    from_zones=_pbf_zones(entry),
                    to_zones=None,
                    source=objects.addresses(_members(entry, "source"), f"pbf rule {name}"),
                    destination=objects.addresses(
                        _members(entry, "destination"), f"pbf rule {name}"
                    ),
                    service=objects.services([service]),
                    translated=why,
                )
            )
    return tuple(out)


def _pbf_zones(entry: Element) -> frozenset[str] | None:
    """A PBF rule's source zones (None: any, or it matches by interface instead)."""
    found = entry.find("from")
    return _zones(found, "zone") if found is not None else None


def application_overrides(sections: Sequence[Section]) -> tuple[str, ...]:
    """Enabled application-override rules: they set the application App-ID would find."""
    return tuple(
        entry.get("name", "")
        for _, rulebase, _ in sections
        for entry in rulebase.findall("application-override/rules/entry")
        if not _yes(entry, "disabled")
    )


def _nat_rule(entry: Element, objects: Objects, problems: list[Problem], source: str) -> NatRule:
    name = entry.get("name", "")
    translated: tuple[int, int] | str | None = None
    for tag in ("destination-translation", "dynamic-destination-translation"):
        element = entry.find(tag)
        if element is None:
            continue
        text = (element.findtext("translated-address") or "").strip()
        translated = _translated(text, objects, name, element)
    nat_type = (entry.findtext("nat-type") or "ipv4").strip()
    if nat_type != "ipv4" and translated is None:
        translated = f"nat-type {nat_type} is not modelled"
    service = (entry.findtext("service") or ANY).strip()
    fake = Element("service")
    member = Element("member")
    member.text = service
    fake.append(member)
    return NatRule(
        name=name,
        line=line_of(entry),
        from_zones=_zones(entry, "from"),
        to_zones=_zones(entry, "to"),
        source=objects.addresses(_members(entry, "source"), f"nat rule {name} source"),
        destination=objects.addresses(
            _members(entry, "destination"), f"nat rule {name} destination"
        ),
        service=objects.services([member]),
        translated=translated,
        to_interface=(entry.findtext("to-interface") or "").strip() or None,
    )


def _translated(text: str, objects: Objects, name: str, at: Element) -> tuple[int, int] | str:
    """The one address a destination translation sends to, or why it is not one address."""
    obj = objects.entries("address").get(text)
    if obj is not None:
        value = (obj.findtext("ip-netmask") or "").strip()
        if not value:
            return f"translated address {text} is not one ip-netmask address"
        text = value
    try:
        found = literal_spans(text)
    except ValueError as exc:
        objects.problem(at, f"nat rule {name} translated-address", str(exc))
        return "the translated address is malformed"
    if found is None:
        return f"translated address {text}: no such address object"
    version, (low, high) = found
    if low != high:
        return f"translated address {text} is a pool: which member is used is unknown"
    return version, low
