"""A firewall's running configuration and/or a Panorama export into one `Policy`: the vsys
(--panos-vsys where there are several), the device group (--panos-device-group) with its
ancestors, objects looked up from the innermost scope out, the rules in evaluation order, the
defaults, the zones and the routes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element

from auditor.errors import InputError, Problem
from auditor.policy.model import Policy, Router
from auditor.policy.panos import network
from auditor.policy.panos.objects import Objects, Resolver, system_resolver
from auditor.policy.panos.rules import (
    Section,
    application_overrides,
    defaults,
    forwarding_rules,
    nat_rules,
    security_rules,
)
from auditor.policy.panos.xmlsource import line_of
from auditor.ruleset.model import Intervals

MAX_DG_DEPTH = 32


@dataclass(frozen=True, slots=True)
class Selection:
    """Which part of the configuration the flows pass: --panos-vsys, --panos-device-group,
    and whether FQDN address objects are resolved (--resolve)."""

    vsys: str | None = None
    device_group: str | None = None
    resolve: bool = False


@dataclass(frozen=True, slots=True)
class Config:
    source: str
    root: Element  # <config>

    @property
    def panorama(self) -> bool:
        return self.root.find("devices/entry/device-group") is not None or (
            self.root.find("devices/entry/vsys") is None
            and self.root.find("devices/entry/template") is not None
        )


@dataclass(slots=True)
class _Parts:
    pre: list[Section]
    post: list[Section]
    overrides: list[tuple[str, Element | None]]  # default-rule overrides, innermost first
    context: list[str]
    zones: dict[str, str]
    routers: tuple[Router, ...] = ()


def build_policy(
    configs: Sequence[Config], selection: Selection, resolver: Resolver | None = None
) -> Policy:
    """The policy of the firewall (and/or Panorama device group) the flows pass."""
    problems: list[Problem] = []
    firewalls = [c for c in configs if not c.panorama]
    panoramas = [c for c in configs if c.panorama]
    for kind, found in (("firewall", firewalls), ("Panorama", panoramas)):
        if len(found) > 1:
            message = f"a second {kind} configuration (give one, and at most one Panorama export)"
            raise InputError([Problem(found[1].source, 1, "config", message)])
    if resolver is None and selection.resolve:
        resolver = system_resolver
    parts = _Parts([], [], [], [], {})
    if panoramas:
        _panorama(parts, panoramas[0], selection, problems, resolver)
    if firewalls:
        _firewall(parts, firewalls[0], selection, problems, resolver)
    sections = parts.pre + parts.post
    rules = security_rules(sections, problems, configs[0].source)
    intrazone, interzone = defaults(parts.overrides, problems, configs[0].source)
    nat = nat_rules(sections, problems, configs[0].source)
    forwarding = forwarding_rules(sections)
    overrides = application_overrides(sections)
    if problems:
        raise InputError(problems)
    applications: dict[str, Mapping[str, Intervals]] = {}
    unknown_apps: dict[str, str] = {}
    for _, _, each in sections:
        applications |= each.applications
        unknown_apps |= each.unknown_applications
    return Policy(
        vendor="panos",
        source=", ".join(c.source for c in configs),
        context=" / ".join(parts.context),
        rules=rules,
        intrazone=intrazone,
        interzone=interzone,
        interface_zone=parts.zones,
        routers=parts.routers,
        nat=nat,
        forwarding=forwarding,
        app_overrides=overrides,
        applications=applications,
        unknown_applications=unknown_apps,
    )


def _shared(root: Element) -> Element:
    found = root.find("shared")
    return found if found is not None else Element("shared")


def _panorama(
    parts: _Parts,
    pano: Config,
    selection: Selection,
    problems: list[Problem],
    resolver: Resolver | None,
) -> None:
    """Shared and device-group pre-rules go before the firewall's local rules, post-rules
    after them; the innermost device group's default-rule override wins."""
    chain = _device_groups(pano, selection.device_group)
    shared = _shared(pano.root)
    shared_objects = Objects([("shared", shared)], pano.source, problems, resolver)
    scopes = [(f"device-group {dg.get('name')}", dg) for dg in chain] + [("shared", shared)]
    parts.pre.append(("shared pre-rulebase", _rb(shared, "pre-rulebase"), shared_objects))
    post: list[Section] = []
    for at in range(len(chain) - 1, -1, -1):  # the outermost ancestor's pre-rules first
        dg = chain[at]
        dg_objects = Objects(scopes[at:], pano.source, problems, resolver)
        label = f"device-group {dg.get('name')}"
        parts.pre.append((f"{label} pre-rulebase", _rb(dg, "pre-rulebase"), dg_objects))
        post.insert(0, (f"{label} post-rulebase", _rb(dg, "post-rulebase"), dg_objects))
    parts.post += post
    parts.post.append(("shared post-rulebase", _rb(shared, "post-rulebase"), shared_objects))
    parts.overrides += [
        (f"device-group {dg.get('name')}", dg.find("post-rulebase")) for dg in chain
    ]
    parts.overrides.append(("shared", shared.find("post-rulebase")))
    parts.context.append(f"device-group {chain[0].get('name')}")
    device = _template_device(pano, chain[0])
    if device is not None:  # a Panorama export alone: the zones of the group's template stack
        vsys = _vsys(pano, device, selection.vsys)
        scopes = [(vsys.get("name", ""), vsys), ("shared", shared)]
        objects = Objects(scopes, pano.source, problems, resolver)
        parts.zones = network.zones(vsys)
        parts.routers = _routers(device, objects, pano.source, problems, parts.zones)


def _firewall(
    parts: _Parts,
    fw: Config,
    selection: Selection,
    problems: list[Problem],
    resolver: Resolver | None,
) -> None:
    device = fw.root.find("devices/entry")
    if device is None:
        raise InputError([Problem(fw.source, line_of(fw.root), "config", "no devices/entry")])
    vsys = _vsys(fw, device, selection.vsys)
    name = vsys.get("name", "")
    objects = Objects([(name, vsys), ("shared", _shared(fw.root))], fw.source, problems, resolver)
    parts.pre.append(("rulebase", _rb(vsys, "rulebase"), objects))
    parts.overrides.append((name, vsys.find("rulebase")))
    parts.zones = network.zones(vsys)
    parts.routers = _routers(device, objects, fw.source, problems, parts.zones)
    parts.context.append(name)


def _routers(
    device: Element, objects: Objects, source: str, problems: list[Problem], zones: dict[str, str]
) -> tuple[Router, ...]:
    """The virtual routers that carry the vsys's zones."""
    return tuple(
        r
        for r in network.routers(device, objects, source, problems)
        if not zones or r.interfaces & zones.keys() or not r.interfaces
    )


def _template_device(pano: Config, group: Element) -> Element | None:
    """The firewall configuration a Panorama export gives the device group's firewalls: the
    template stack that serves the same firewalls (by serial number), its own configuration
    and then its templates in order, the first that holds the network. None: no stack, or
    several, serve them (the zones are then unknown unless given)."""
    serials = {e.get("name") for e in group.findall("devices/entry")}
    stacks = merged_entries(pano.root.findall("devices/entry/template-stack/entry"))
    serving = [
        st
        for st in stacks.values()
        if serials & {e.get("name") for e in st.findall("devices/entry")}
    ]
    if len(serving) != 1:
        return None
    templates = merged_entries(pano.root.findall("devices/entry/template/entry"))
    layers = [serving[0]] + [
        templates[m.text or ""]
        for m in serving[0].findall("templates/member")
        if m.text in templates
    ]
    for layer in layers:
        device = layer.find("config/devices/entry")
        if device is not None and device.find("network") is not None:
            return device if device.find("vsys/entry") is not None else None
    return None


def _rb(parent: Element, tag: str) -> Element:
    found = parent.find(tag)
    return found if found is not None else Element(tag)


def merged_entries(entries: Sequence[Element]) -> dict[str, Element]:
    """Entries by name; entries of one name given twice (a merged export, as iron-skillet's
    loadable configurations are) are one, as PAN-OS loads them."""
    out: dict[str, Element] = {}
    for entry in entries:
        name = entry.get("name", "")
        have = out.get(name)
        if have is None:
            out[name] = entry
            continue
        if have.get(" merged") is None:
            have = Element("entry", {**have.attrib, " merged": "1"})
            have.extend(list(out[name]))
            out[name] = have
        have.extend(list(entry))
    return out


def _vsys(config: Config, device: Element, wanted: str | None) -> Element:
    entries = list(merged_entries(device.findall("vsys/entry")).values())
    names = [e.get("name", "") for e in entries]
    if wanted is not None:
        for entry in entries:
            if entry.get("name") == wanted:
                return entry
        message = f"no vsys named {wanted} (the configuration holds {', '.join(names) or 'none'})"
        raise InputError([Problem(config.source, line_of(device), "--panos-vsys", message)])
    if len(entries) == 1:
        return entries[0]
    if not entries:
        raise InputError(
            [Problem(config.source, line_of(device), "vsys", "no vsys in the configuration")]
        )
    message = f"the configuration holds {', '.join(names)}: give --panos-vsys NAME"
    raise InputError([Problem(config.source, line_of(entries[1]), "vsys", message)])


def _device_groups(config: Config, wanted: str | None) -> list[Element]:
    """The device group and its ancestors, innermost first (PAN-OS keeps the hierarchy in
    `readonly/.../device-group/entry/parent-dg`)."""
    groups = merged_entries(config.root.findall("devices/entry/device-group/entry"))
    if wanted is None:
        if len(groups) == 1:
            wanted = next(iter(groups))
        else:
            held = ", ".join(groups) or "none"
            message = f"a Panorama export with device groups {held}: give --panos-device-group NAME"
            raise InputError(
                [Problem(config.source, line_of(config.root), "--panos-device-group", message)]
            )
    if wanted not in groups:
        message = f"no device group named {wanted} (the export holds {', '.join(groups) or 'none'})"
        raise InputError(
            [Problem(config.source, line_of(config.root), "--panos-device-group", message)]
        )
    parents = {
        e.get("name", ""): (e.findtext("parent-dg") or "").strip()
        for e in config.root.findall("readonly/devices/entry/device-group/entry")
    }
    chain = [groups[wanted]]
    name = parents.get(wanted, "")
    while name and name in groups and len(chain) <= MAX_DG_DEPTH:
        if any(g.get("name") == name for g in chain):
            message = f"device group {name} is its own ancestor"
            raise InputError([Problem(config.source, line_of(groups[name]), "parent-dg", message)])
        chain.append(groups[name])
        name = parents.get(name, "")
    return chain
