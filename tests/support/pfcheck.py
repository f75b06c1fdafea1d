"""A checker for the pf.conf subset the pf renderer emits (pf cannot run here).

Covers: comments, `\\` line continuation, newlines inside braces, macros (`name = value`),
`table <name> [const|persist|counters] [{ hosts } | file "path"]`, and filter rules
`pass|block [drop|return] [in|out] [log] [quick] [on IF] [inet|inet6] [proto P] (all | [from
HOSTS [port PORTS]] [to HOSTS [port PORTS]]) [flags F/M | flags any] [keep|modulate|synproxy
state | no state] [label "text"]`. Anything else is reported, with its line. `strict` adds what
the renderer promises: every table a rule names is defined, every pass keeps state.
Tested against the examples of pf.conf(5) and the OpenBSD PF guide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netaddr import AddrFormatError, IPNetwork

TABLE_NAME_MAX = 31
LABEL_MAX = 63
IFNAME_MAX = 15

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"[^"\n]*")|(?P<table><[^<>\s]*>)|(?P<op>!=|<=|>=|><|<>|[{},!=<>()])|(?P<word>[^\s{},!=<>()"]+))'
)
_TABLE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_MACRO = re.compile(r"^\$[A-Za-z_][A-Za-z0-9_]*$")
_IFNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_SERVICE = re.compile(r"^[a-z][a-z0-9-]*$")
_FLAGS = re.compile(r"^[FSRPAUEW]*/[FSRPAUEW]+$")
_PROTOS = {"tcp", "udp", "icmp", "icmp6", "esp", "ah", "gre", "carp", "pfsync", "ipv6"}


@dataclass(frozen=True, slots=True)
class PfProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _Error(Exception):
    pass


def _statements(text: str) -> list[tuple[int, str]]:
    """Logical statements with the line each starts on: comments dropped, continuations and
    brace-spanning lists joined."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    depth = 0
    for number, raw in enumerate(text.split("\n"), start=1):
        line = _strip_comment(raw)
        cont = line.endswith("\\")
        if cont:
            line = line[:-1]
        if not buf:
            start = number
        buf.append(line)
        depth += line.count("{") - line.count("}")
        if cont or depth > 0:
            continue
        stmt = " ".join(buf).strip()
        buf = []
        depth = 0
        if stmt:
            out.append((start, stmt))
    if buf and " ".join(buf).strip():
        out.append((start, " ".join(buf).strip() + " \x00"))  # an unterminated list or line
    return out


def _strip_comment(line: str) -> str:
    in_string = False
    for i, ch in enumerate(line):
        if ch == '"':
            in_string = not in_string
        elif ch == "#" and not in_string:
            return line[:i].rstrip()
    return line.rstrip()


def _tokens(stmt: str) -> list[str]:
    pos = 0
    out: list[str] = []
    while pos < len(stmt):
        if stmt[pos:].strip() == "":
            break
        m = _TOKEN.match(stmt, pos)
        if m is None or m.end() == pos:
            raise _Error(f"unexpected character {stmt[pos:].lstrip()[:1]!r}")
        out.append(m.group(m.lastgroup or "word"))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0
        self.tables_used: list[str] = []

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.peek()
        if tok is None:
            raise _Error("unexpected end of statement")
        self.i += 1
        return tok

    def accept(self, *words: str) -> str | None:
        if self.peek() in words:
            return self.take()
        return None

    def expect(self, word: str) -> None:
        tok = self.take()
        if tok != word:
            raise _Error(f"expected {word!r}, found {tok!r}")

    def done(self) -> None:
        if self.peek() is not None:
            raise _Error(f"unexpected {self.peek()!r}")

    def table_ref(self, tok: str) -> str:
        name = tok[1:-1]
        if not _TABLE_NAME.match(name):
            raise _Error(f"bad table name <{name}>")
        if len(name) > TABLE_NAME_MAX:
            raise _Error(f"table name <{name}> longer than {TABLE_NAME_MAX} characters")
        return name

    def host(self, *, in_table: bool = False) -> None:
        tok = self.take()
        if tok == "!":
            tok = self.take()
        if tok.startswith("<"):
            if in_table:
                raise _Error("a table cannot hold another table")
            self.tables_used.append(self.table_ref(tok))
            return
        if tok in ("any", "self") or _MACRO.match(tok):
            return
        try:
            IPNetwork(tok)
        except (AddrFormatError, ValueError, TypeError):
            raise _Error(f"bad address {tok!r}") from None
        if "/" not in tok and tok.count(".") not in (0, 3):
            raise _Error(f"bad address {tok!r}")
        if "/" in tok and tok.split("/")[0].count(".") not in (0, 3):
            raise _Error(f"abbreviated address {tok!r} (write all four octets)")

    def host_list(self, *, in_table: bool = False) -> None:
        self.expect("{")
        if self.accept("}"):
            return
        while True:
            self.host(in_table=in_table)
            if self.accept("}"):
                return
            self.accept(",")

    def hosts(self) -> None:
        if self.peek() == "{":
            self.host_list()
        else:
            self.host()

    def port_item(self) -> None:
        tok = self.take()
        if tok in ("=", "!=", "<", ">", "<=", ">="):
            self.port_number(self.take())
            return
        if ":" in tok:
            low, _, high = tok.partition(":")
            lo, hi = self.port_number(low), self.port_number(high)
            if lo > hi:
                raise _Error(f"port range {tok} runs backwards")
            return
        if self.peek() in ("><", "<>"):
            self.take()
            self.port_number(tok)
            self.port_number(self.take())
            return
        self.port_number(tok)

    def port_number(self, tok: str) -> int:
        if _MACRO.match(tok) or (_SERVICE.match(tok) and not tok.isdigit()):
            return 0
        if not tok.isdigit() or not 0 <= int(tok) <= 65535:
            raise _Error(f"bad port {tok!r}")
        return int(tok)

    def ports(self) -> None:
        if self.accept("{"):
            while True:
                self.port_item()
                if self.accept("}"):
                    return
                self.accept(",")
        self.port_item()

    def table(self) -> str:
        tok = self.take()
        if not tok.startswith("<"):
            raise _Error(f"expected <name> after table, found {tok!r}")
        name = self.table_ref(tok)
        while self.accept("const", "persist", "counters"):
            pass
        while self.peek() is not None:
            if self.peek() == "{":
                self.host_list(in_table=True)
            elif self.accept("file"):
                path = self.take()
                if not path.startswith('"'):
                    raise _Error("file needs a quoted path")
            else:
                raise _Error(f"unexpected {self.peek()!r} in table definition")
        return name

    def rule(self, action: str) -> bool:
        """Returns whether the rule keeps state."""
        if action == "block":
            self.accept("drop", "return")
        self.accept("in", "out")
        self.accept("log")
        self.accept("quick")
        if self.accept("on"):
            self.interface()
        self.accept("inet", "inet6")
        if self.accept("proto"):
            if self.accept("{"):
                while not self.accept("}"):
                    self.protocol(self.take())
                    self.accept(",")
            else:
                self.protocol(self.take())
        if not self.accept("all"):
            if self.accept("from"):
                self.hosts()
                if self.accept("port"):
                    self.ports()
            if self.accept("to"):
                self.hosts()
                if self.accept("port"):
                    self.ports()
        if self.accept("flags"):
            flags = self.take()
            if flags != "any" and not _FLAGS.match(flags):
                raise _Error(f"bad tcp flags {flags!r}")
        keeps = False
        if self.accept("keep", "modulate", "synproxy"):
            self.expect("state")
            keeps = True
        elif self.accept("no"):
            self.expect("state")
        if self.accept("label"):
            label = self.take()
            if not (label.startswith('"') and label.endswith('"')) or len(label) < 2:
                raise _Error("label needs a quoted string")
            if len(label) - 2 > LABEL_MAX:
                raise _Error(f"label longer than {LABEL_MAX} characters")
        self.done()
        return keeps

    def interface(self) -> None:
        tok = self.take()
        if tok == "!":
            tok = self.take()
        if _MACRO.match(tok):
            return
        if not _IFNAME.match(tok) or len(tok) > IFNAME_MAX:
            raise _Error(f"bad interface name {tok!r}")

    def protocol(self, tok: str) -> None:
        if tok not in _PROTOS and not _MACRO.match(tok) and not tok.isdigit():
            raise _Error(f"unknown protocol {tok!r}")


def check(text: str, *, strict: bool = False) -> list[PfProblem]:
    """Problems found in `text`, in line order (empty when it parses)."""
    problems: list[PfProblem] = []
    defined: set[str] = set()
    used: list[tuple[int, str]] = []
    for line, stmt in _statements(text):
        try:
            if "\x00" in stmt:
                raise _Error("unterminated statement (an open brace or a trailing backslash)")
            tokens = _tokens(stmt)
            parser = _Parser(tokens)
            head = parser.take()
            if len(tokens) >= 2 and tokens[1] == "=" and re.match(r"^[A-Za-z_]\w*$", head):
                continue  # a macro definition
            if head == "table":
                defined.add(parser.table())
            elif head in ("pass", "block"):
                keeps = parser.rule(head)
                if strict and head == "pass" and not keeps:
                    raise _Error("pass rule without keep state")
            else:
                raise _Error(f"statement {head!r} is outside the checked subset")
            used.extend((line, name) for name in parser.tables_used)
        except _Error as exc:
            problems.append(PfProblem(line, str(exc)))
    if strict:
        problems.extend(
            PfProblem(line, f"table <{name}> is not defined")
            for line, name in used
            if name not in defined
        )
    return sorted(problems, key=lambda p: p.line)
