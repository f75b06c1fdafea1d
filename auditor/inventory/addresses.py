"""The inventory loader's address checks: an appliance interface (address with its prefix
length), a plain IP address, and provider endpoints (addresses, hostnames, small networks
expanded to their hosts, counted against the provider's budget before expanding)."""

from __future__ import annotations

import re
from typing import Any

from netaddr import AddrFormatError, IPAddress, IPNetwork

from auditor.documents.yamlsource import join
from auditor.inventory.fields import FieldReader, show
from auditor.model.inventory_spec import MAX_ENDPOINTS_PER_PROVIDER
from auditor.values import address_problem, prefix_length

MAX_NETWORK_HOSTS = 256
# An appliance interface shorter than this is a typo (a /0 puts the whole Internet on-link).
MIN_INTERFACE_PREFIX = {4: 8, 6: 16}
_OVER_LIMIT = "over its limit"  # marks the budget problem, so the list stops after one line


class AddressReader(FieldReader):
    """FieldReader plus addresses, networks and endpoints."""

    def interface(self, path: str, value: Any) -> IPNetwork | None:
        """An appliance address: host address with its prefix length (198.51.100.11/24)."""
        if not isinstance(value, str) or "/" not in value:
            self.problem(
                path,
                f"expected an address with its prefix length, like 198.51.100.11/24 or "
                f"2001:db8::11/64, got {show(value)}",
            )
            return None
        ip_text, _, mask_text = value.partition("/")
        ip = self.ip_address(path, ip_text, whole=value)
        if ip is None:
            return None
        limit = 32 if ip.version == 4 else 128
        low = MIN_INTERFACE_PREFIX[ip.version]
        prefix = prefix_length(mask_text, limit)
        if prefix is None or prefix < low:
            self.problem(
                path,
                f"bad prefix length {show('/' + mask_text)} in {show(value)} "
                f"(expected /{low} to /{limit}: the interface's own subnet)",
            )
            return None
        if not usable(ip):
            self.problem(path, f"{ip} cannot be an appliance address ({what_is(ip)})")
            return None
        net = IPNetwork(f"{ip}/{prefix}")
        if ip.version == 4 and net.prefixlen < 31 and ip in (net.network, net.broadcast):
            what = "network" if ip == net.network else "broadcast"
            self.problem(
                path, f"{ip} is the {what} address of {net.cidr} (expected a host address)"
            )
            return None
        return net

    def ip_address(self, path: str, value: Any, *, whole: Any = None) -> IPAddress | None:
        shown = whole if whole is not None else value
        if not isinstance(value, str) or not value:
            self.problem(path, f"expected an IP address, got {show(shown)}")
            return None
        try:
            version = 6 if ":" in value else 4
            return IPAddress(value, version)
        except (AddrFormatError, ValueError, TypeError):
            named = address_problem(value)
            self.problem(path, f"{show(shown)} {named or 'is not a valid IP address'}")
            return None

    def endpoints(self, path: str, value: Any) -> list[str]:
        """A provider's endpoints, networks expanded, each once, within the provider's budget."""
        if value is None or value == []:
            self.problem(path, "no endpoints (expected at least one address or hostname)")
            return []
        items = self.sequence(path, value, "address or hostname", allow_empty=False)
        if len(items) > MAX_ENDPOINTS_PER_PROVIDER:
            self.problem(
                path,
                f"{len(items)} endpoints (expected at most {MAX_ENDPOINTS_PER_PROVIDER} per "
                "provider: split it into several providers)",
            )
            return []
        out: list[str] = []
        seen: set[str] = set()
        for i, item in enumerate(items):
            room = MAX_ENDPOINTS_PER_PROVIDER - len(out)
            before = len(self.problems)
            expanded = self.endpoint(join(path, i), item, room)
            if len(self.problems) > before and _OVER_LIMIT in self.problems[-1].message:
                break  # one line for the overflow, not one per network after it
            for endpoint in expanded:
                if endpoint in seen:
                    self.problem(
                        join(path, i), f"endpoint {endpoint} is listed twice (expected each once)"
                    )
                    continue
                seen.add(endpoint)
                out.append(endpoint)
        return out

    def endpoint(self, path: str, value: Any, room: int = MAX_ENDPOINTS_PER_PROVIDER) -> list[str]:
        """An address, a hostname, or a network (no host bits) expanded to its hosts (at most
        `room` of them: the provider's endpoint budget, counted before expanding)."""
        if not isinstance(value, str) or not value:
            self.problem(path, f"expected an IP address or hostname, got {show(value)}")
            return []
        if "/" in value:
            return self.endpoint_network(path, value, room)
        if ":" in value or re.fullmatch(r"[0-9.]+", value):
            ip = self.ip_address(path, value)
            if ip is not None and not usable(ip):
                self.problem(path, f"{ip} cannot be a provider endpoint ({what_is(ip)})")
                return []
            return [str(ip)] if ip is not None else []
        host = self.hostname(path, value)
        return [host] if host is not None else []

    def endpoint_network(self, path: str, value: str, room: int) -> list[str]:
        net = self.network(path, value)
        if net is None:
            return []
        if net.size > MAX_NETWORK_HOSTS:
            self.problem(
                path,
                f"network {net.cidr} holds {net.size} addresses (expected at most "
                f"{MAX_NETWORK_HOSTS}: list the provider's servers instead)",
            )
            return []
        hosts = net.size - 2 if net.size > 2 else net.size
        if hosts > room:
            self.problem(
                path,
                f"network {net.cidr} adds {hosts} endpoints to this provider, {_OVER_LIMIT} of "
                f"{MAX_ENDPOINTS_PER_PROVIDER} (expected the provider's servers, listed)",
            )
            return []
        return [str(h) for h in (net.iter_hosts() if net.size > 2 else net)]

    def network(self, path: str, value: str) -> IPNetwork | None:
        """A network of provider endpoints written as ADDRESS/PREFIX, without host bits."""
        ip_text, _, mask_text = value.partition("/")
        ip = self.ip_address(path, ip_text, whole=value)
        if ip is None:
            return None
        limit = 32 if ip.version == 4 else 128
        prefix = prefix_length(mask_text, limit)
        if prefix is None:
            self.problem(
                path,
                f"bad prefix length {show('/' + mask_text)} in {show(value)} "
                f"(expected /0 to /{limit})",
            )
            return None
        net = IPNetwork(f"{ip}/{prefix}")
        if not usable(ip) or ip.is_multicast():
            self.problem(path, f"{net.cidr} cannot hold provider endpoints ({what_is(ip)})")
            return None
        if ip != net.network:
            self.problem(
                path,
                f"{value} has host bits set (expected the network {net.cidr}, "
                f"or the single host {ip} without a prefix length)",
            )
            return None
        return net


def usable(ip: IPAddress) -> bool:
    """Not an address that is never a host: unspecified, limited broadcast, multicast."""
    return not (ip.value == 0 or ip == IPAddress("255.255.255.255") or ip.is_multicast())


def what_is(ip: IPAddress) -> str:
    """Why `ip` is not usable, in words."""
    if ip.value == 0:
        return "the unspecified address"
    if ip.is_multicast():
        return "a multicast address"
    if ip == IPAddress("255.255.255.255"):
        return "the limited broadcast address"
    return "not a host address"
