"""The shape of one item of `nft -j list ruleset` (libnftables-json(5)), checked before it is
read: a field of the wrong type is a located refusal, never an exception deep in the reader."""

from __future__ import annotations

from typing import Any

from auditor.ruleset.nft_sets import Packed
from auditor.textout import quoted
from auditor.values import has_control

MAX_ELEMENTS = 2_000_000  # set and map elements in one file (ipset save: `add` lines)
FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
HOOKS = ("prerouting", "input", "forward", "output", "postrouting", "ingress", "egress")
PRIORITY_NAMES = ("raw", "mangle", "dstnat", "filter", "security", "srcnat", "out")
_NAMES = {"table": ("family", "name"), "chain": ("family", "table", "name")}
_NAMES |= {"rule": ("family", "table", "chain"), "set": ("family", "table", "name")}
_NAMES |= {"map": ("family", "table", "name")}


def _control_text(value: Any) -> str:
    """A string (or key) of `value` holding a control character, walked without recursion."""
    stack = [value]
    while stack:
        here = stack.pop()
        if isinstance(here, str):
            if has_control(here):
                return here
        elif isinstance(here, dict):
            stack.extend(here.keys())
            stack.extend(here.values())
        elif isinstance(here, list):
            stack.extend(here)
    return ""


def _chain(body: dict[str, Any]) -> str:
    if "hook" not in body:
        return ""
    if body["hook"] not in HOOKS:
        return f"chain hook {quoted(body['hook'])} is not one of {', '.join(HOOKS)}"
    prio = body.get("prio", 0)
    if isinstance(prio, bool) or not isinstance(prio, int | str):
        return f"chain prio {quoted(prio)} is not an integer"
    if isinstance(prio, str) and prio not in PRIORITY_NAMES:
        return f"chain prio {quoted(prio)} is not an integer or one of {', '.join(PRIORITY_NAMES)}"
    if isinstance(prio, int) and not -(2**31) <= prio < 2**31:
        return f"chain prio {prio} is out of the 32-bit range"
    if body.get("policy", "accept") not in ("accept", "drop"):
        return f"chain policy {quoted(body.get('policy'))} is not accept or drop"
    return ""


def _rule(body: dict[str, Any]) -> str:
    exprs = body.get("expr", [])
    if not isinstance(exprs, list):
        return "rule expr is not a list of statements"
    for stmt in exprs:
        if not isinstance(stmt, dict) or len(stmt) != 1:
            return f"rule statement {quoted(stmt, 60)} is not an object with one key"
    return ""


def item_problem(item: dict[str, Any], walk_strings: bool = True) -> str:
    """Why one `{kind: body}` item cannot be read ('' when it can). `walk_strings=False`: the
    caller has seen that the text holds no control character, raw or escaped."""
    ((kind, body),) = item.items()
    bad = _control_text(item) if walk_strings else ""
    if bad:
        return f"{kind}: control character in {quoted(bad, 60)} (a listing never holds one)"
    if kind not in _NAMES:
        return ""  # metainfo, counters, quotas, flowtables...: not used by the evaluator
    if not isinstance(body, dict):
        return f"{kind} is not an object"
    handle = body.get("handle", 0)
    if isinstance(handle, bool) or not isinstance(handle, int) or not 0 <= handle < 2**64:
        return (
            f"{kind} handle {quoted(handle, 40)} is not an integer (nft -j lists a number 0-2^64)"
        )
    for key in _NAMES[kind]:
        if not isinstance(body.get(key), str) or not body[key]:
            return f"{kind} without a {key} string"
    if body["family"] not in FAMILIES:
        return f"{kind} family {quoted(body['family'])} is not one of {', '.join(FAMILIES)}"
    if kind == "chain":
        return _chain(body)
    if kind == "rule":
        return _rule(body)
    if kind in ("set", "map") and not isinstance(body.get("elem", []), list | Packed):
        return f"{kind} elem is not a list"
    return ""
