"""The firewall's zones and routes from a PAN-OS configuration: layer-3 interfaces (and their
subinterfaces), the zones of a vsys, and each virtual router's connected and static routes.
PAN-OS decides a packet's zones by its interfaces: the ingress zone is the zone of the interface
the source is reached by, the egress zone that of the route to the (post-NAT) destination."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree.ElementTree import Element

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.errors import Problem
from auditor.policy.model import Route, Router
from auditor.policy.panos.objects import Objects
from auditor.policy.panos.xmlsource import line_of

_KINDS = ("ethernet", "aggregate-ethernet", "vlan", "loopback", "tunnel")
_DYNAMIC = ("bgp", "ospf", "ospfv3", "rip")


def zones(vsys: Element) -> dict[str, str]:
    """interface -> zone of the vsys (layer-3 and tunnel zones; layer-2, virtual-wire and tap
    interfaces are not routed)."""
    out: dict[str, str] = {}
    for zone in vsys.findall("zone/entry"):
        for member in zone.findall("network/layer3/member") + zone.findall("network/tunnel/member"):
            out[(member.text or "").strip()] = zone.get("name", "")
    return out


def _interfaces(network: Element) -> Iterator[tuple[str, Element]]:
    """(name, the element that holds its `ip`/`ipv6`) of every layer-3 interface and unit."""
    for kind in _KINDS:
        for entry in network.findall(f"interface/{kind}/entry"):
            name = entry.get("name", "")
            holder = entry.find("layer3")
            base = holder if holder is not None else entry
            yield name, base
            for unit in base.findall("units/entry"):
                yield unit.get("name", ""), unit


def _addresses(
    holder: Element, objects: Objects
) -> Iterator[tuple[IPNetwork | None, Element, str]]:
    for entry in holder.findall("ip/entry") + holder.findall("ipv6/address/entry"):
        text = entry.get("name", "").strip()
        value = objects.entries("address").get(text)  # an interface may name an address object
        if value is not None and value.findtext("ip-netmask"):
            text = (value.findtext("ip-netmask") or "").strip()
        try:
            yield IPNetwork(text), entry, ""
        except (AddrFormatError, ValueError):
            yield None, entry, text


def routers(
    device: Element, objects: Objects, source: str, problems: list[Problem]
) -> tuple[Router, ...]:
    """Every virtual router with its connected routes (its interfaces' subnets) and static
    routes; PAN-OS 10.2+ logical routers (advanced routing) make the zones unknown."""
    network = device.find("network")
    if network is None:
        return ()
    connected: dict[str, list[Route]] = {}
    dhcp: set[str] = set()
    for name, holder in _interfaces(network):
        routes = connected.setdefault(name, [])
        if holder.find("dhcp-client") is not None:
            dhcp.add(name)
        for net, _, _text in _addresses(holder, objects):
            if net is None:
                continue  # an address object that is no ip-netmask: no connected route
            routes.append(
                Route(net.version, int(net.first), int(net.last), net.prefixlen, "connected", name,
                      metric=0, name=f"connected {net.cidr}")
            )  # fmt: skip
    out = []
    for vr in network.findall("virtual-router/entry"):
        interfaces = frozenset((m.text or "").strip() for m in vr.findall("interface/member"))
        routes = [r for i in sorted(interfaces) for r in connected.get(i, [])]
        routes += _static(vr, objects, source, problems)
        dynamic = tuple(p for p in _DYNAMIC if vr.findtext(f"protocol/{p}/enable") == "yes")
        # a DHCP client's subnet and default route are learned, not configured
        dynamic += tuple(f"a DHCP client on {i}" for i in sorted(interfaces & dhcp))
        out.append(Router(vr.get("name", ""), tuple(routes), interfaces, dynamic))
    for lr in network.findall("logical-router/entry"):
        out.append(Router(lr.get("name", ""), (), frozenset(), ("advanced routing",)))
    return tuple(out)


def _static(vr: Element, objects: Objects, source: str, problems: list[Problem]) -> list[Route]:
    routes = []
    for family in ("ip", "ipv6"):
        for entry in vr.findall(f"routing-table/{family}/static-route/entry"):
            if entry.find("route-table/no-install") is not None:
                continue  # not installed in the unicast table
            name = entry.get("name", "")
            text = (entry.findtext("destination") or "").strip()
            obj = objects.entries("address").get(text)
            if obj is not None and obj.findtext("ip-netmask"):
                text = (obj.findtext("ip-netmask") or "").strip()
            try:
                net = IPNetwork(text)
            except (AddrFormatError, ValueError):
                message = f"destination {text!r} (expected a CIDR or an ip-netmask address object)"
                problems.append(Problem(source, line_of(entry), f"static-route {name}", message))
                continue
            metric_text = (entry.findtext("metric") or "10").strip()
            if not metric_text.isdigit() or int(metric_text) > 65535:
                message = f"metric {metric_text!r} (expected 1-65535)"
                problems.append(Problem(source, line_of(entry), f"static-route {name}", message))
                continue
            interface = (entry.findtext("interface") or "").strip() or None
            nexthop, unknown = _nexthop(entry.find("nexthop"))
            routes.append(
                Route(net.version,
                      int(net.first), int(net.last), net.prefixlen, "static", interface,
                      nexthop, int(metric_text), unknown, name)
            )  # fmt: skip
    return routes


def _nexthop(element: Element | None) -> tuple[int | None, str]:
    if element is None:
        return None, ""
    for kind in ("ip-address", "ipv6-address"):
        text = element.findtext(kind)
        if text is not None:
            try:
                return int(IPAddress(text.strip())), ""
            except (AddrFormatError, ValueError):
                return None, f"next hop {text.strip()!r} is an address object (not resolved)"
    if element.find("discard") is not None:
        return None, "the route discards the traffic"
    if element.find("next-vr") is not None:
        return None, f"the next hop is virtual router {element.findtext('next-vr')}"
    if element.find("fqdn") is not None:
        return None, "the next hop is an FQDN"
    return None, ""
