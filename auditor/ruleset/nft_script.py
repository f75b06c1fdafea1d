"""An nft script (the subset `auditor rules` renders: tables, sets, chains, add/insert rule with
address, port, interface and ct state matches) applied to an `nft -j` document in memory."""

from __future__ import annotations

import json
import re
from typing import Any

from auditor.errors import InputError, Problem
from auditor.textout import quoted

_TOKEN = re.compile(r'"[^"]*"|[{};,]|!=|[^\s{};,"]+|\n')
_FAMILIES = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
_PRIO = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}


class _Script:
    def __init__(self, document: dict[str, Any], text: str) -> None:
        self.items: list[dict[str, Any]] = document["nftables"]
        self.tokens = [t for t in _TOKEN.findall(_strip_comments(text))]
        self.at = 0
        self.handle = 1 + max(
            (
                int(v.get("handle", 0))
                for i in self.items
                for v in i.values()
                if isinstance(v, dict)
            ),
            default=0,
        )

    def next_handle(self) -> int:
        self.handle += 1
        return self.handle

    def peek(self) -> str:
        while self.at < len(self.tokens) and self.tokens[self.at] in ("\n", ";"):
            self.at += 1
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def take(self) -> str:
        word = self.peek()
        if not word:
            raise ValueError("the script ends in the middle of a statement")
        self.at += 1
        return word.strip('"')

    def table_ref(self) -> tuple[str, str]:
        first = self.take()
        return (first, self.take()) if first in _FAMILIES else ("ip", first)

    def line(self) -> list[str]:
        """Tokens up to the end of the line, braces kept balanced."""
        out, depth = [], 0
        while self.at < len(self.tokens):
            tok = self.tokens[self.at]
            if tok in ("\n", ";", "}") and depth == 0:
                break
            depth += (tok == "{") - (tok == "}")
            out.append(tok)
            self.at += 1
        return out

    def block(self) -> list[str]:
        """The tokens between a `{` and its `}`."""
        if self.peek() != "{":
            return []
        self.at += 1
        out, depth = [], 1
        while depth:
            tok = self.tokens[self.at]
            self.at += 1
            depth += (tok == "{") - (tok == "}")
            if depth:
                out.append(tok)
        return out

    def run(self) -> None:
        while self.peek():
            self.command()

    def command(self) -> None:
        word = self.take()
        if word == "table":
            family, name = self.table_ref()
            self.add_table(family, name)
            _Body(self, family, name, self.block()).run()
            return
        verb, what = word, self.take()
        if verb == "delete" and what == "table":
            family, table = self.table_ref()
            self.items[:] = [i for i in self.items if not _belongs(i, family, table)]
        elif what == "chain" and verb == "add":
            family, table = self.table_ref()
            self.add_chain(family, table, self.take(), self.block())
        elif what in ("chain", "set") and verb == "flush":
            family, table = self.table_ref()
            self.flush(family, table, what, self.take())
        elif what == "set" and verb == "add":
            family, table = self.table_ref()
            self.add_set(family, table, self.take(), self.block())
        elif what == "element" and verb == "add":
            family, table = self.table_ref()
            self.add_elements(family, table, self.take(), self.block())
        elif what == "rule" and verb in ("add", "insert"):
            family, table = self.table_ref()
            chain = self.take()
            position = None
            if self.peek() == "position":
                self.take()
                position = int(self.take())
            self.add_rule(
                family, table, chain, self.line(), insert=verb == "insert", position=position
            )
        else:
            raise ValueError(f"'{verb} {what}' is not a statement a change applies")

    def add_table(self, family: str, name: str) -> None:
        if not any("table" in i and _belongs(i, family, name) for i in self.items):
            self.items.append(
                {"table": {"family": family, "name": name, "handle": self.next_handle()}}
            )

    def find(self, kind: str, family: str, table: str, name: str) -> dict[str, Any] | None:
        for i in self.items:
            body = i.get(kind)
            if body and _belongs(i, family, table) and body.get("name") == name:
                return body
        return None

    def add_chain(self, family: str, table: str, name: str, spec: list[str]) -> None:
        body = self.find("chain", family, table, name)
        if body is None:
            body = {"family": family, "table": table, "name": name, "handle": self.next_handle()}
            self.items.append({"chain": body})
        words = [";" if t == "\n" else t.strip('"') for t in spec]
        if "hook" in words:
            body["type"] = words[words.index("type") + 1]
            body["hook"] = words[words.index("hook") + 1]
            prio_words = words[
                words.index("priority") + 1 : words.index(";", words.index("priority"))
            ]
            body["prio"] = _priority(prio_words)
            body["policy"] = words[words.index("policy") + 1] if "policy" in words else "accept"
            rest = words[words.index(";", words.index("priority")) + 1 :]
            if "policy" in words:
                rest = words[words.index(";", words.index("policy")) + 1 :]
            spec = rest
        for rule in _split_lines([t for t in spec]):
            self.add_rule(family, table, name, rule, insert=False, position=None)

    def flush(self, family: str, table: str, what: str, name: str) -> None:
        if what == "chain":
            self.items[:] = [
                i for i in self.items
                if not ("rule" in i and _belongs(i, family, table) and i["rule"]["chain"] == name)
            ]  # fmt: skip
        elif (body := self.find("set", family, table, name)) is not None:
            body["elem"] = []

    def add_set(self, family: str, table: str, name: str, spec: list[str]) -> None:
        body = self.find("set", family, table, name)
        if body is None:
            body = {"family": family, "name": name, "table": table, "handle": self.next_handle()}
            self.items.append({"set": body})
        words = [";" if t == "\n" else t for t in spec]
        if "type" in words:
            start = words.index("type") + 1
            kinds = [w for w in words[start : words.index(";", start)] if w != "."]
            body["type"] = kinds[0] if len(kinds) == 1 else kinds
        if "elements" in words:
            start = words.index("{", words.index("elements")) + 1
            end = words.index("}", start)
            self.add_elements(family, table, name, [w for w in words[start:end] if w != ";"])

    def add_elements(self, family: str, table: str, name: str, elems: list[str]) -> None:
        body = self.find("set", family, table, name)
        if body is None:
            raise ValueError(f"set {name} does not exist")
        values = [v for v in _values(elems) if v is not None]
        body.setdefault("elem", []).extend(values)

    def add_rule(
        self, family: str, table: str, chain: str, tokens: list[str], *, insert: bool,
        position: int | None,
    ) -> None:  # fmt: skip
        if self.find("chain", family, table, chain) is None:
            raise ValueError(f"chain {family} {table} {chain} does not exist")
        rule = {"family": family, "table": table, "chain": chain, "handle": self.next_handle(),
                "expr": _expr(tokens)}  # fmt: skip
        mine = [n for n, i in enumerate(self.items) if "rule" in i and _belongs(i, family, table)
                and i["rule"]["chain"] == chain]  # fmt: skip
        if position is not None:  # nft(8): insert goes before the handle, add after it
            at = next((n for n in mine if self.items[n]["rule"]["handle"] == position), None)
            if at is None:
                raise ValueError(f"chain {family} {table} {chain}: no rule with handle {position}")
            self.items.insert(at if insert else at + 1, {"rule": rule})
        elif insert and mine:
            self.items.insert(mine[0], {"rule": rule})
        elif mine:
            self.items.insert(mine[-1] + 1, {"rule": rule})
        else:
            self.items.append({"rule": rule})


class _Body:
    """`table F N { set ... { } chain ... { } }`."""

    def __init__(self, script: _Script, family: str, name: str, tokens: list[str]) -> None:
        self.script, self.family, self.name = script, family, name
        self.inner = _Script({"nftables": script.items}, "")
        self.inner.tokens, self.inner.handle = tokens, script.handle

    def run(self) -> None:
        inner = self.inner
        while inner.peek():
            word, name = inner.take(), inner.take()
            if word == "set":
                inner.add_set(self.family, self.name, name, inner.block())
            elif word == "chain":
                inner.add_chain(self.family, self.name, name, inner.block())
            else:
                raise ValueError(f"'{word}' inside a table is not something a change applies")
        self.script.handle = inner.handle


def _strip_comments(text: str) -> str:
    text = text.replace("\\\n", " ")  # a backslash continues the line
    return "\n".join(
        re.sub(r'^((?:[^"#]|"[^"]*")*)#.*$', r"\1", line) for line in text.splitlines()
    )


def _belongs(item: dict[str, Any], family: str, table: str) -> bool:
    body = next(iter(item.values()))
    if not isinstance(body, dict):
        return False
    name = body.get("name") if "table" in item else body.get("table")
    return bool(body.get("family") == family and name == table)


def _priority(words: list[str]) -> int:
    text = " ".join(words)
    match = re.fullmatch(r"(-?\w+)\s*(?:([+-])\s*(\d+))?", text)
    if match is None:
        raise ValueError(f"priority {quoted(text)} is not understood")
    base, sign, offset = match.groups()
    value = int(base) if base.lstrip("-").isdigit() else _PRIO[base]
    return value + (int(offset) * (1 if sign == "+" else -1) if offset else 0)


def _split_lines(tokens: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    depth = 0
    for tok in tokens:
        if tok in ("\n", ";") and depth == 0:
            out.append([])
            continue
        depth += (tok == "{") - (tok == "}")
        out[-1].append(tok)
    return [line for line in out if line]


def _values(tokens: list[str]) -> list[Any]:
    """`a, b-c, d/24` or `x . y` concatenations into nft JSON values."""
    out: list[Any] = []
    current: list[Any] = []
    for tok in tokens:
        if tok in (",", "\n"):
            if current:
                out.append(current[0] if len(current) == 1 else {"concat": current})
            current = []
        elif tok != ".":
            current.append(_value(tok.strip('"')))
    if current:
        out.append(current[0] if len(current) == 1 else {"concat": current})
    return out


def _value(tok: str) -> Any:
    if tok.isdigit():
        return int(tok)
    if "/" in tok:
        addr, length = tok.split("/", 1)
        return {"prefix": {"addr": addr, "len": int(length)}}
    if "-" in tok and not tok.startswith("-"):
        lo, hi = tok.split("-", 1)
        return {"range": [int(lo) if lo.isdigit() else lo, int(hi) if hi.isdigit() else hi]}
    return tok


def _expr(tokens: list[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    at = 0
    while at < len(tokens):
        tok = tokens[at].strip('"')
        at += 1
        if tok in ("accept", "drop", "return", "continue"):
            out.append({tok: None})
        elif tok in ("jump", "goto"):
            out.append({tok: {"target": tokens[at]}})
            at += 1
        elif tok == "counter":
            out.append({"counter": {"packets": 0, "bytes": 0}})
        elif tok == "comment":
            at += 1
        elif tok in ("iifname", "oifname", "ip", "ip6", "tcp", "udp", "th", "meta", "ct"):
            left: dict[str, Any]
            if tok in ("iifname", "oifname"):
                left = {"meta": {"key": tok}}
            elif tok == "meta":
                left, at = {"meta": {"key": tokens[at]}}, at + 1
            elif tok == "ct":
                left, at = {"ct": {"key": tokens[at]}}, at + 1
            else:
                left, at = {"payload": {"protocol": tok, "field": tokens[at]}}, at + 1
            op = "=="
            if tokens[at] == "!=":
                op, at = "!=", at + 1
            right, at = _right(tokens, at)
            out.append({"match": {"op": op, "left": left, "right": right}})
        else:
            raise ValueError(f"'{tok}' in a rule is not something a change applies")
    return out


def _right(tokens: list[str], at: int) -> tuple[Any, int]:
    if tokens[at] == "{":
        end = at + 1
        depth = 1
        while depth:
            depth += (tokens[end] == "{") - (tokens[end] == "}")
            end += 1
        return {"set": _values(tokens[at + 1 : end - 1])}, end
    tok = tokens[at].strip('"')
    if "," in tok:
        return tok.split(","), at + 1
    return _value(tok), at + 1


def apply_nft_script(document: str, script: str, source: str) -> str:
    """The `nft -j` document with the script's statements applied."""
    data = json.loads(document)
    try:
        _Script(data, script).run()
    except (ValueError, IndexError, KeyError) as exc:
        raise InputError([Problem(source, None, "change", f"nft script: {exc}")]) from None
    return json.dumps(data, indent=1)
