"""Properties of the PAN-OS evaluator over generated policies: its answer never changes when
rules that cannot match the flow are added or removed, and the candidate index never changes
an answer (the same policy judged by a plain top-down walk)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from panos_support import firewall, policy_of, rule
from support.fuzz import examples

from auditor.policy.judge import Connection, PolicyJudge

ZONES = ("appliances", "directory", "outside", "any")
SOURCES = ("198.51.100.10", "198.51.100.11", "198.51.100.0/24", "198.51.100.8/29", "any")
DESTS = ("203.0.113.10", "203.0.113.0/28", "203.0.113.11-203.0.113.20", "192.0.2.0/24", "any")
ACTIONS = ("allow", "deny", "drop", "reset-client")
PORTS = (53, 123, 389, 636, 1812)
FLOWS = st.tuples(
    st.sampled_from(("198.51.100.10", "198.51.100.11", "198.51.100.12")),
    st.sampled_from(("203.0.113.10", "203.0.113.11", "203.0.113.30", "192.0.2.9")),
    st.sampled_from(("tcp", "udp")),
    st.sampled_from(PORTS),
)
SERVICES = "".join(
    f'<entry name="{p}-{n}"><protocol><{p}><port>{n}</port></{p}></protocol></entry>'
    for p in ("tcp", "udp")
    for n in PORTS
)
OBJECTS = f"<service>{SERVICES}</service>"


@st.composite
def rules(draw: st.DrawFn, prefix: str) -> list[str]:
    out = []
    for i in range(draw(st.integers(0, 8))):
        extra = ""
        if draw(st.booleans()):
            extra += "<negate-source>yes</negate-source>"
        if draw(st.integers(0, 5)) == 0:
            extra += "<disabled>yes</disabled>"
        if draw(st.integers(0, 6)) == 0:
            extra += "<schedule>office</schedule>"
        service = draw(
            st.sampled_from([*(f"{p}-{n}" for p in ("tcp", "udp") for n in PORTS), "any"])
        )
        out.append(
            rule(
                f"{prefix}{i}",
                draw(st.sampled_from(ACTIONS)),
                source=draw(st.sampled_from(SOURCES)),
                destination=draw(st.sampled_from(DESTS)),
                service=service,
                from_zone=draw(st.sampled_from(ZONES)),
                to_zone=draw(st.sampled_from(ZONES)),
                extra=extra,
            )
        )
    return out


def unmatchable(flow: tuple[str, str, str, int], n: int, how: int, action: str) -> str:
    """A rule that by construction cannot match `flow`: another destination, another port,
    another source zone (the flow comes from appliances), or disabled."""
    _, destination, protocol, port = flow
    name = f"never{n}"
    if how == 0:
        other = "198.51.100.200" if destination != "198.51.100.200" else "198.51.100.201"
        return rule(name, action, destination=other)
    if how == 1:
        other_port = next(p for p in PORTS if p != port)
        return rule(name, action, service=f"{protocol}-{other_port}")
    if how == 2:
        return rule(name, action, from_zone="outside")
    return rule(name, action, extra="<disabled>yes</disabled>")


def answer(text: str, flow: tuple[str, str, str, int]) -> tuple[object, ...]:
    from netaddr import IPAddress

    s, d, protocol, port = flow
    p = policy_of(text)
    c = Connection(4, int(IPAddress(s)), int(IPAddress(d)), protocol, port)
    decision = PolicyJudge(p).judge(c)
    rule_name = decision.rule.name if decision.rule is not None else None
    return decision.verdict, rule_name, decision.reason, decision.from_zone, decision.to_zone


@settings(max_examples=examples(60), deadline=None)
@given(
    base=rules("r"),
    flow=FLOWS,
    extras=st.lists(
        st.tuples(st.integers(0, 20), st.integers(0, 3), st.sampled_from(ACTIONS)), max_size=6
    ),
)
def test_rules_that_cannot_match_never_change_the_answer(
    base: list[str], flow: tuple[str, str, str, int], extras: list[tuple[int, int, str]]
) -> None:
    before = answer(firewall(base, objects=OBJECTS), flow)
    grown = list(base)
    for n, (at, how, action) in enumerate(extras):
        grown.insert(at % (len(grown) + 1), unmatchable(flow, n, how, action))
    assert answer(firewall(grown, objects=OBJECTS), flow) == before
    # removing the base rules that cannot match (the disabled ones) changes nothing either
    enabled = [r for r in base if "<disabled>yes</disabled>" not in r]
    assert answer(firewall(enabled, objects=OBJECTS), flow) == before


class _Walk(PolicyJudge):
    """Every rule a candidate: a plain top-down walk, no index."""

    def _candidates(self, c: Connection, from_zone: str | None, to_zone: str | None) -> int:
        return self.all


@settings(max_examples=examples(60), deadline=None)
@given(base=rules("r"), flows=st.lists(FLOWS, min_size=1, max_size=6))
def test_the_index_never_changes_an_answer(
    base: list[str], flows: list[tuple[str, str, str, int]]
) -> None:
    from netaddr import IPAddress

    p = policy_of(firewall(base, objects=OBJECTS))
    indexed, walked = PolicyJudge(p), _Walk(p)
    for s, d, protocol, port in flows:
        c = Connection(4, int(IPAddress(s)), int(IPAddress(d)), protocol, port)
        assert indexed.judge(c) == walked.judge(c)
