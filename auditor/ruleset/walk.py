"""One base chain walked by a set of flows (`ChainRun`), and the flows on their way through the
path (`Flows`): the packet each chain sees at its point, the changes rules made, and the ways
split from a flow where a match could not be decided (each way assumes one answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from auditor.ruleset.effects import apply as apply_effect
from auditor.ruleset.index import FlowIndex
from auditor.ruleset.model import (
    UNKNOWN_POLICY,
    Chain,
    Decision,
    Hook,
    Kind,
    Match,
    Packet,
    Rule,
    RuleRef,
    Ruleset,
    Table,
    Target,
    TargetKind,
    Verdict,
)
from auditor.ruleset.path import Stage

MAX_DEPTH = 64
MAX_WAYS = 64


def rule_ref(ruleset: Ruleset, table: Table, rule: Rule) -> RuleRef:
    return RuleRef(ruleset.source, table.family, table.name, rule.chain, rule.ref, rule.text)


def policy_ref(ruleset: Ruleset, table: Table, chain: Chain) -> RuleRef:
    if ruleset.kind is Kind.NFT:
        text = f"policy {chain.policy}"
    else:
        text = f":{chain.name} {(chain.policy or '').upper()}"
        if chain.policy == UNKNOWN_POLICY:
            text = f"(no :{chain.name} line)"
    return RuleRef(ruleset.source, table.family, table.name, chain.name, "policy", text)


@dataclass
class Phase:
    """What every packet shares at this point of the path."""

    ct: str = "none"  # before conntrack
    in_blank: bool = False  # OUTPUT: no input interface
    out_blank: bool = True  # before routing (and on INPUT): nft's oifname reads ""
    in_probe: str | None = None  # an ingress chain tried on a flow whose interface is not given
    out_probe: str | None = None
    local_source: bool = False
    local_destination: bool = False
    # conntrack confirms a new connection when its packet leaves its last hook (priority
    # 2147483647 on input and postrouting): a chain at that priority may run before or after
    confirming: bool = False


_CONFIRMED = 0x08  # the ct status bit


@dataclass(frozen=True, slots=True)
class Assumption:
    rule: RuleRef
    path: tuple[str, ...]
    reason: str
    value: bool  # True: the way on which the rule matched


@dataclass
class Flows:
    """The flows of one IP version on their way, and the ways split from them."""

    index: FlowIndex
    hook: Hook
    phase: Phase
    changed: dict[int, Packet] = field(default_factory=dict)  # packets a rule changed
    root: dict[int, int] = field(default_factory=dict)  # way -> its flow
    special: set[int] = field(default_factory=set)  # not as the index holds them
    untracked: set[int] = field(default_factory=set)
    memo: dict[int, dict[object, bool]] = field(default_factory=dict)
    assumed: dict[int, tuple[Assumption, ...]] = field(default_factory=dict)
    ways: dict[int, int] = field(default_factory=dict)
    admitted: dict[int, Decision] = field(default_factory=dict)
    views: dict[int, Packet] = field(default_factory=dict)
    born: set[int] = field(default_factory=set)
    events: int = 0
    next_id: int = 0

    def view(self, fid: int) -> Packet:
        """The packet as the chains at this point see it."""
        seen = self.views.get(fid)
        if seen is None:
            base = self.changed.get(fid) or self.index.packets[self.root.get(fid, fid)]
            ph = self.phase
            in_if = "" if ph.in_blank else base.in_interface
            out_if = "" if ph.out_blank else base.out_interface
            ct = "untracked" if fid in self.untracked else ph.ct
            if in_if is None and ph.in_probe:
                in_if = ph.in_probe
            if out_if is None and ph.out_probe:
                out_if = ph.out_probe
            status = base.ct_status
            unsure = base.ct_status_unsure | (_CONFIRMED if ph.confirming else 0)
            seen = base
            if (base.ct, base.in_interface, base.out_interface) != (ct, in_if, out_if) or (
                base.local_source,
                base.local_destination,
                base.ct_status,
                base.ct_status_unsure,
            ) != (ph.local_source, ph.local_destination, status, unsure):
                seen = replace(
                    base,
                    ct=ct,
                    in_interface=in_if,
                    out_interface=out_if,
                    local_source=ph.local_source,
                    local_destination=ph.local_destination,
                    ct_status=status,
                    ct_status_unsure=unsure,
                )
            self.views[fid] = seen
        return seen

    def move(self, **changes: object) -> None:
        """A new point of the path: conntrack, routing."""
        for key, value in changes.items():
            setattr(self.phase, key, value)
        self.views.clear()

    def set_packet(self, fid: int, packet: Packet, moved: bool) -> None:
        """A rule changed the packet (`packet` is a view: its interfaces are the phase's)."""
        first = self.index.packets[self.root.get(fid, fid)]
        packet = replace(packet, in_interface=first.in_interface, out_interface=first.out_interface)
        self.changed[fid] = packet
        self.views.pop(fid, None)
        if packet.ct == "untracked":
            self.untracked.add(fid)
            moved = True
        if moved:
            self.special.add(fid)
        self.events += 1

    def can_split(self, fid: int) -> bool:
        return self.ways.get(self.root.get(fid, fid), 1) < MAX_WAYS

    def split(self, fid: int, key: object, yes: bool, why: Assumption) -> int:
        """A new way from `fid` on which the undecided match answered `yes`; `fid` goes on as
        the way on which it did not."""
        new = self.next_id
        self.next_id += 1
        root = self.root.get(fid, fid)
        self.root[new] = root
        self.ways[root] = self.ways.get(root, 1) + 1
        if fid in self.changed:
            self.changed[new] = self.changed[fid]
        if fid in self.untracked:
            self.untracked.add(new)
        if fid in self.admitted:
            self.admitted[new] = self.admitted[fid]
        self.special.add(new)
        memo = self.memo.setdefault(fid, {})
        self.memo[new] = {**memo, key: yes}
        memo[key] = not yes
        before = self.assumed.get(fid, ())
        self.assumed[new] = (*before, replace(why, value=True))
        self.assumed[fid] = (*before, replace(why, value=False))
        self.born.add(new)
        self.events += 1
        return new


def _memo_key(m: Match, rule: Rule) -> tuple[object, bool]:
    memo = getattr(m, "memo", None)
    if memo is not None:
        key, negate = memo()
        return key, bool(negate)
    return (id(rule), id(m)), False


def _cache_key(m: Match) -> object:
    try:
        hash(m)
    except TypeError:
        return id(m)
    return m


@dataclass
class ChainRun:
    """One base chain over a set of flows. `shared`: it runs beside others of its priority in
    an order the ruleset does not show, so what it changes or cannot decide is unknown."""

    stage: Stage
    flows: Flows
    cache: dict[object, frozenset[int] | None]
    shared: bool = False
    later_rules: bool = False  # a chain with rules runs after this one (MASQUERADE)
    accepted: dict[int, Decision] = field(default_factory=dict)
    final: dict[int, Decision] = field(default_factory=dict)
    bound: set[int] = field(default_factory=set)  # a NAT binding was made
    # (chain, flows) walks that changed nothing, so gave every flow back: a chain called twice
    # from each of 30 chains must not be walked 2**30 times.
    quiet: set[tuple[str, frozenset[int]]] = field(default_factory=set)

    def run(self, pending: set[int]) -> None:
        chain = self.stage.chain
        path_ = (f"{self.stage.table.name}/{chain.name}",)
        fell = self.walk(chain, pending, path_, 0)
        ref = policy_ref(self.stage.ruleset, self.stage.table, chain)
        for fid in fell:
            if chain.policy == UNKNOWN_POLICY:
                why = (
                    f"table {self.stage.table.name} chain {chain.name}: the dump has no "
                    f"`:{chain.name} POLICY` line (iptables-save always writes it), so the "
                    "chain's policy is not known"
                )
                self.final[fid] = Decision(Verdict.UNKNOWN, "", ref, path_, why)
            elif chain.policy == "drop":
                self.final[fid] = Decision(Verdict.DENIED, "drop", ref, path_, "chain policy")
            else:
                self.accepted[fid] = Decision(
                    Verdict.ADMITTED, "accept", ref, path_, "chain policy"
                )

    def walk(self, chain: Chain, pending: set[int], path_: tuple[str, ...], depth: int) -> set[int]:
        """Flows leaving `chain` by RETURN or its end; the others are decided on the way."""
        returned: set[int] = set()
        for rule in chain.rules:
            if not pending:
                break
            if rule.target.kind is TargetKind.CONTINUE and not rule.target.effects:
                continue  # LOG, counters: matching or not, the next rule decides
            hit, extra, dead = self.match(rule, pending, path_)
            pending -= dead
            pending |= extra
            if hit:
                pending -= hit
                pending |= self.apply(
                    rule, rule.target, hit, path_=path_, depth=depth, returned=returned
                )
        return returned | pending

    def apply(
        self,
        rule: Rule,
        target: Target,
        hit: set[int],
        *,
        path_: tuple[str, ...],
        depth: int,
        returned: set[int],
    ) -> set[int]:
        """Decide `hit` by `target`; returns the flows that go on with the next rule."""
        going_on: set[int] = set()
        if target.effects:
            hit, going_on = self.effects(rule, target, hit, path_)
        kind = target.kind
        here = (*path_[:-1], f"{path_[-1]}#{rule.ref}")
        ref = rule_ref(self.stage.ruleset, self.stage.table, rule)
        if hit and kind in (TargetKind.ACCEPT, TargetKind.DROP, TargetKind.REJECT):
            self.flows.events += 1  # a decision: the walk was not quiet
        if kind is TargetKind.ACCEPT:
            for fid in hit:
                self.accepted[fid] = Decision(Verdict.ADMITTED, "accept", ref, here)
        elif kind in (TargetKind.DROP, TargetKind.REJECT):
            action = kind.value + (f" {target.detail}" if target.detail else "")
            for fid in hit:
                self.final[fid] = Decision(Verdict.DENIED, action, ref, here)
        elif kind is TargetKind.RETURN:
            returned |= hit
        elif kind is TargetKind.CONTINUE:
            going_on |= hit
        elif kind is TargetKind.MODIFY and target.effects:
            self.bound |= hit  # a NAT binding: the nat chains end here
            self.flows.events += 1
        elif kind in (TargetKind.JUMP, TargetKind.GOTO):
            back = self.jump(rule, target, hit, here, depth)
            if kind is TargetKind.JUMP:
                return going_on | back
            returned |= back
        elif kind is TargetKind.VMAP:
            return going_on | self.vmap(
                rule, target, hit, path_=path_, depth=depth, returned=returned
            )
        else:
            for fid in hit:
                self.unknown(fid, rule, path_, target.detail or f"target {kind} is not modelled")
        return going_on

    def jump(
        self, rule: Rule, target: Target, hit: set[int], here: tuple[str, ...], depth: int
    ) -> set[int]:
        """The flows that come back from the chain jumped (or gone) to."""
        callee = self.stage.table.chains.get(target.chain)
        if callee is None or depth >= MAX_DEPTH:
            for fid in hit:
                self.unknown(fid, rule, here, f"chain {target.chain} missing or too deep")
            return set()
        return self.call(callee, hit, (*here, f"{self.stage.table.name}/{callee.name}"), depth)

    def effects(
        self, rule: Rule, target: Target, hit: set[int], path_: tuple[str, ...]
    ) -> tuple[set[int], set[int]]:
        """Apply the rule's effects; returns the flows that go on to its verdict and those
        for which the rule broke off (an nft `ct mark` read without a connection)."""
        flows = self.flows
        through: set[int] = set()
        broke: set[int] = set()
        for fid in hit:
            packet = flows.view(fid)
            moved = False
            why = ""
            for effect in target.effects:
                if self.shared:
                    why = (
                        f"{target.detail or 'the rule'} changes the packet in a base chain "
                        "that shares its priority with another (their order is not in the ruleset)"
                    )
                elif effect.kind == "masquerade" and self.later_rules:
                    why = "MASQUERADE changes the source to the out interface's address"
                elif effect.kind == "dnat":
                    why = self._dnat_problem(effect.address, packet)
                if why:
                    break
                changed = apply_effect(effect, packet)
                if changed is None:
                    break
                moved = moved or effect.kind in ("dnat", "snat")
                packet = changed
            else:
                if packet is not flows.view(fid):
                    flows.set_packet(fid, packet, moved)
                through.add(fid)
                continue
            if why:
                self.unknown(fid, rule, path_, why)
            else:
                broke.add(fid)
        return through, broke

    def _dnat_problem(self, address: int | None, packet: Packet) -> str:
        site = packet.site
        local = site is not None and (packet.version, address) in site.addresses
        if self.flows.hook is Hook.FORWARD and local:
            return "DNAT to the firewall's own address: the packet is delivered, not forwarded"
        if self.flows.hook is Hook.INPUT and not local and site is None:
            return (
                "DNAT on the way in: whether the new destination is still the firewall's own "
                "is not known (pass --local-address)"
            )
        if self.flows.hook is Hook.INPUT and not local:
            return (
                "DNAT on the way in to an address that is not among the firewall's addresses "
                "given: the packet is forwarded, not delivered (unless the list is incomplete)"
            )
        return ""

    def call(self, callee: Chain, hit: set[int], path_: tuple[str, ...], depth: int) -> set[int]:
        """walk(), once per (chain, flows) when the walk changes nothing."""
        key = (callee.name, frozenset(hit))
        if key in self.quiet:
            return set(hit)
        events = self.flows.events
        back = self.walk(callee, set(hit), path_, depth + 1)
        if self.flows.events == events:
            self.quiet.add(key)
        return back

    def vmap(
        self,
        rule: Rule,
        target: Target,
        hit: set[int],
        *,
        path_: tuple[str, ...],
        depth: int,
        returned: set[int],
    ) -> set[int]:
        assert target.vmap is not None
        groups: dict[Target, set[int]] = {}
        going_on: set[int] = set()
        for fid in hit:
            found = target.vmap.lookup(self.flows.view(fid))
            if found is None:
                going_on.add(fid)
            elif isinstance(found, str):
                self.unknown(fid, rule, path_, found)
            else:
                groups.setdefault(found, set()).add(fid)
        for each, ids in groups.items():
            going_on |= self.apply(rule, each, ids, path_=path_, depth=depth, returned=returned)
        return going_on

    def unknown(self, fid: int, rule: Rule, path_: tuple[str, ...], reason: str) -> None:
        ref = rule_ref(self.stage.ruleset, self.stage.table, rule)
        here = (*path_[:-1], f"{path_[-1]}#{rule.ref}")
        self.final[fid] = Decision(Verdict.UNKNOWN, "", ref, here, reason)
        self.flows.events += 1

    def match(
        self, rule: Rule, pending: set[int], path_: tuple[str, ...]
    ) -> tuple[set[int], set[int], set[int]]:
        """The flows of `pending` (and ways split on the rule) it matches; new ways it does
        not match; flows it made unknown."""
        flows = self.flows
        special = flows.special
        odd = pending & special if special else ()
        candidates: set[int] | frozenset[int] = pending
        tested: list[Match] = []
        for m in rule.matches:
            if not candidates:
                break
            phase = getattr(m, "phase", None)
            if phase is not None:  # the same for every flow at this point (conntrack state)
                answer = phase(flows.phase.ct)
                if answer is False:
                    candidates = frozenset()
                elif answer is not True:
                    tested.append(m)
                continue
            # Equal matches (`-p tcp`, one ipset) share one candidate set: keyed by identity,
            # 20,000 rules held 20,000 copies of the same large set.
            key = _cache_key(m)
            if key not in self.cache:
                finder = getattr(m, "candidates", None)
                self.cache[key] = finder(flows.index) if finder is not None else None
            found = self.cache[key]
            if found is None:
                tested.append(m)
            else:
                candidates = candidates & found
        hit: set[int] = set()
        extra: set[int] = set()
        dead: set[int] = set()
        if candidates and special:  # the ways and changed packets are tested as they are
            candidates = candidates - special
        if candidates:
            if not tested:
                hit = set(candidates)
            else:
                for fid in candidates:
                    self.decide(fid, rule, tested, path_, (hit, extra, dead))
        for fid in odd:
            self.decide(fid, rule, rule.matches, path_, (hit, extra, dead))
        return hit, extra, dead

    def decide(
        self,
        fid: int,
        rule: Rule,
        matches: Sequence[Match],
        path_: tuple[str, ...],
        out: tuple[set[int], set[int], set[int]],
    ) -> None:
        """One flow against the rule's matches; an undecided match splits it into two ways."""
        hit, extra, dead = out
        work = [fid]
        while work:
            way = work.pop()
            answer = self.answer(way, rule, matches)
            if answer is True:
                hit.add(way)
            elif answer is False:
                if way != fid:
                    extra.add(way)
            else:
                key, yes, reason = answer
                if self.shared or not self.flows.can_split(way):
                    if not self.shared:
                        reason = f"more than {MAX_WAYS} ways through the ruleset; {reason}"
                    self.unknown(way, rule, path_, reason)
                    dead.add(way)
                    continue
                ref = rule_ref(self.stage.ruleset, self.stage.table, rule)
                here = (*path_[:-1], f"{path_[-1]}#{rule.ref}")
                new = self.flows.split(way, key, yes, Assumption(ref, here, reason, False))
                work += [way, new]

    def answer(
        self, fid: int, rule: Rule, matches: Sequence[Match]
    ) -> bool | tuple[object, bool, str]:
        packet = self.flows.view(fid)
        memo = self.flows.memo.get(fid)
        undecided: tuple[object, bool, str] | None = None
        for m in matches:
            answer = m.test(packet)
            if answer is True:
                continue
            if answer is False:
                return False
            key, negate = _memo_key(m, rule)
            if memo is not None and key in memo:
                if memo[key] == negate:
                    return False
                continue
            if undecided is None:
                undecided = (key, not negate, str(answer))
        return True if undecided is None else undecided
