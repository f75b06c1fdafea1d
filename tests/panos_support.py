"""Hand-built PAN-OS configurations for the tests: a firewall with three layer-3 interfaces
(appliances 198.51.100.0/24 on ethernet1/1, directory 203.0.113.0/25 on ethernet1/2, outside
192.0.2.0/24 on ethernet1/3 with the default route), and the rules, objects and NAT a test
gives, written as PAN-OS writes them (`show config running` XML)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from netaddr import IPAddress

from auditor.model.inventory import Check, FailoverState, Flow, Protocol, Role
from auditor.policy.judge import Connection, PolicyDecision, PolicyJudge
from auditor.policy.model import Policy
from auditor.policy.panos.read import Config, Selection, build_policy
from auditor.policy.panos.xmlsource import parse_xml

NETWORK = """
<network>
  <interface><ethernet>
    <entry name="ethernet1/1"><layer3><ip><entry name="198.51.100.1/24"/></ip></layer3></entry>
    <entry name="ethernet1/2"><layer3><ip><entry name="203.0.113.1/25"/></ip></layer3></entry>
    <entry name="ethernet1/3"><layer3><ip><entry name="192.0.2.1/24"/></ip></layer3></entry>
  </ethernet></interface>
  <virtual-router><entry name="default">
    <interface>
      <member>ethernet1/1</member><member>ethernet1/2</member><member>ethernet1/3</member>
    </interface>
    <routing-table><ip><static-route>
      <entry name="default-route"><nexthop><ip-address>192.0.2.254</ip-address></nexthop>
        <destination>0.0.0.0/0</destination></entry>
      {routes}
    </static-route></ip></routing-table>
    {protocol}
  </entry></virtual-router>
</network>
"""
ZONES = """
<zone>
  <entry name="appliances"><network><layer3><member>ethernet1/1</member></layer3></network></entry>
  <entry name="directory"><network><layer3><member>ethernet1/2</member></layer3></network></entry>
  <entry name="outside"><network><layer3><member>ethernet1/3</member></layer3></network></entry>
</zone>
"""


def members(tag: str, values: str | Sequence[str]) -> str:
    items = [values] if isinstance(values, str) else list(values)
    return f"<{tag}>" + "".join(f"<member>{v}</member>" for v in items) + f"</{tag}>"


def rule(
    name: str,
    action: str = "allow",
    *,
    source: str | Sequence[str] = "any",
    destination: str | Sequence[str] = "any",
    service: str | Sequence[str] = "any",
    application: str | Sequence[str] = "any",
    from_zone: str | Sequence[str] = "any",
    to_zone: str | Sequence[str] = "any",
    extra: str = "",
) -> str:
    return (
        f'<entry name="{name}">{members("from", from_zone)}{members("to", to_zone)}'
        f"{members('source', source)}{members('destination', destination)}"
        f"{members('application', application)}{members('service', service)}"
        f"<action>{action}</action>{extra}</entry>"
    )


def firewall(
    rules: Sequence[str] = (),
    *,
    objects: str = "",
    nat: Sequence[str] = (),
    defaults: str = "",
    routes: str = "",
    protocol: str = "",
    shared: str = "",
) -> str:
    network = NETWORK.format(routes=routes, protocol=protocol)
    rulebase = (
        f"<rulebase><security><rules>{''.join(rules)}</rules></security>"
        f"<nat><rules>{''.join(nat)}</rules></nat>{defaults}</rulebase>"
    )
    return (
        '<config version="10.1.0">\n<shared>' + shared + "</shared>\n<devices>\n"
        '<entry name="localhost.localdomain">'
        + network
        + '<vsys><entry name="vsys1">'
        + ZONES
        + objects
        + rulebase
        + "</entry></vsys></entry>\n</devices>\n</config>\n"
    )


def policy_of(*texts: str, selection: Selection | None = None) -> Policy:
    configs = [Config(f"c{i}.xml", parse_xml(t.encode(), f"c{i}.xml")) for i, t in enumerate(texts)]
    return build_policy(configs, selection or Selection())


def judge(
    policy: Policy,
    source: str,
    destination: str,
    port: int,
    protocol: str = "tcp",
    *,
    from_zone: str | None = None,
    to_zone: str | None = None,
) -> PolicyDecision:
    s, d = IPAddress(source), IPAddress(destination)
    connection = Connection(s.version, int(s), int(d), protocol, port)
    return PolicyJudge(policy, from_zone, to_zone).judge(connection)


def flow(source: str, destination: str, port: int, protocol: str = "tcp") -> Flow:
    return Flow(
        source=IPAddress(source),
        destination=IPAddress(destination),
        protocol=Protocol(protocol),
        port=port,
        providers=("p",),
        kind="ldaps",
        checks=(Check.TCP if protocol == "tcp" else Check.UDP,),
        appliances=frozenset({"site1"}),
        states=frozenset({FailoverState.PRIMARY_ACTIVE}),
        source_role=Role.UNIQUE,
        endpoint=destination,
    )


def write(tmp: Path, name: str, text: str) -> Path:
    path = tmp / name
    path.write_text(text)
    return path
