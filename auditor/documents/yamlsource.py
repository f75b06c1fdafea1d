"""Read a YAML file into plain Python data plus a map from field path to line number.

PyYAML's composer keeps a start mark on every node; we build the Python values ourselves from
the node tree so that each field path (`pair.primary.addresses[0].ip`) keeps its line. Doing it
ourselves also lets us see duplicate keys (the stock constructor silently keeps the last one)
and bound the work: a size cap on the file and a cap on the number of nodes, so a huge file or
an alias bomb is refused instead of eating memory.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError, Problem, nearest_line

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000
MAX_DEPTH = 64  # nesting levels of mappings and lists
# Values written in the file (aliases not expanded), counted while composing: parsing stops at
# the first one over, instead of building a huge list only to refuse it.
MAX_WRITTEN = 20_000


@dataclass(slots=True)
class YamlDocument:
    """Plain data (dicts, lists, scalars) and where each field path was written."""

    file: str
    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    raw: bytes = b""

    def line(self, path: str) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        return nearest_line(self.lines, path)


def join(path: str, key: str | int) -> str:
    """Extend a field path by a mapping key or a list index."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def read_bytes(
    path: Path, display: str, max_bytes: int = MAX_BYTES, what: str = "a hand-sized YAML file"
) -> bytes:
    """The whole file, when it is a regular file of at most `max_bytes`: its size is checked
    before reading, and a FIFO, a device or a folder is refused (opened non-blocking, so a FIFO
    without a writer cannot hang the run)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise InputError([Problem(display, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise InputError([Problem(display, None, "", "is a directory, not a file")]) from None
    except PermissionError:
        raise InputError([Problem(display, None, "", "permission denied")]) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InputError([Problem(display, None, "", f"cannot read: {reason}")]) from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise InputError([Problem(display, None, "", "is a directory, not a file")])
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                [Problem(display, None, "", "is not a regular file (a FIFO, socket or device)")]
            )
        if info.st_size > max_bytes:
            raise InputError([_too_large(display, max_bytes, what)])
        try:
            raw = fh.read(max_bytes + 1)
        except OSError as exc:
            raise InputError([Problem(display, None, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > max_bytes:  # it grew while we read
        raise InputError([_too_large(display, max_bytes, what)])
    return raw


def _too_large(display: str, max_bytes: int, what: str) -> Problem:
    return Problem(
        display,
        None,
        "",
        f"file is larger than {max_bytes // 1024} KiB (expected {what}; is this the right file?)",
    )


def load_yaml(
    path: Path,
    *,
    display: str | None = None,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
) -> YamlDocument:
    """Load one YAML document. Raises InputError with located problems."""
    name = display if display is not None else str(path)
    raw = read_bytes(path, name, max_bytes)
    return parse_yaml(raw, name, max_nodes=max_nodes)


def parse_yaml(raw: bytes, name: str, *, max_nodes: int = MAX_NODES) -> YamlDocument:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            [
                Problem(
                    name,
                    line,
                    "",
                    f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}; "
                    "save the file as UTF-8)",
                )
            ]
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise InputError([Problem(name, None, "", "file is empty (expected a YAML mapping)")])

    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise InputError([_reader_problem(name, text, exc)]) from None
    try:
        node = loader.get_single_node()
    except _TooDeep as exc:
        what = (
            f"more than {MAX_WRITTEN} values"
            if isinstance(exc, _TooMany)
            else f"nested deeper than {MAX_DEPTH} levels"
        )
        raise InputError(
            [Problem(name, exc.line, "", f"{what} (expected a hand-sized document)")]
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        err_line: int | None = mark.line + 1 if mark is not None else None
        what = exc.problem or exc.context or "syntax error"
        raise InputError([Problem(name, err_line, "", f"YAML syntax error: {what}")]) from None
    except yaml.YAMLError as exc:
        raise InputError([Problem(name, None, "", f"YAML syntax error: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None or (
        isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null") and not node.value
    ):
        raise InputError([Problem(name, None, "", "file is empty (expected a YAML mapping)")])

    builder = _Builder(name, loader, max_nodes)
    data = builder.build(node, "")
    if builder.problems:
        raise InputError(builder.problems)
    return YamlDocument(file=name, data=data, lines=builder.lines, raw=raw)


_PLAIN_COLLECTIONS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _TooMany(_TooDeep):
    pass


class _Loader(yaml.SafeLoader):
    """The safe loader, bounded in depth (the composer recurses once per level: refused before
    Python's recursion limit), with timestamps left as strings (a date is text to us, and an
    impossible one, 2024-02-30, must not fail to construct)."""

    yaml_implicit_resolvers = {  # noqa: RUF012 (the class-level table PyYAML reads)
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._written = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        self._written += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark.line + 1)
            if self._written > MAX_WRITTEN:
                raise _TooMany(self.peek_event().start_mark.line + 1)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _reader_problem(name: str, text: str, exc: yaml.reader.ReaderError) -> Problem:
    """A character YAML does not allow (NUL, ESC, other controls), located."""
    position = exc.position if isinstance(exc.position, int) else 0
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or " ")
    return Problem(
        name,
        line,
        "",
        f"control character 0x{char:02x} at column {column} is not allowed (expected text; "
        "write it escaped in a double-quoted string if it is really meant)",
    )


def _construct_problem(node: yaml.Node, exc: Exception) -> str:
    """One line on a scalar that failed to construct (a bad tag, `!!int "abc"`, a number too
    long to convert)."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        what = exc.problem.replace("could not determine a constructor for the tag", "unknown tag")
        return f"{what} (expected plain YAML values, without tags)"
    value = str(node.value)
    shown = repr(value) if len(value) <= 40 else f"a value of {len(value)} characters"
    tag = node.tag.rsplit(":", 1)[-1]
    return f"cannot read {shown} as {tag} (expected plain text, a number or true/false)"


class _Builder:
    def __init__(self, name: str, loader: _Loader, max_nodes: int) -> None:
        self.name = name
        self.loader = loader
        self.max_nodes = max_nodes
        self.count = 0
        self.lines: dict[str, int] = {}
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: str) -> Any:
        self.count += 1
        if self.count > self.max_nodes:
            if self.count == self.max_nodes + 1:
                self.problems.append(
                    Problem(
                        self.name,
                        node.start_mark.line + 1,
                        path,
                        f"more than {self.max_nodes} YAML nodes (aliases expanded); "
                        "refusing to load (expected a hand-sized inventory)",
                    )
                )
            return None
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_COLLECTIONS:
            self.problems.append(
                Problem(
                    self.name,
                    node.start_mark.line + 1,
                    path,
                    f"unknown tag {node.tag!r} (expected plain YAML values, without tags)",
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, join(path, i)) for i, item in enumerate(node.value)]
        return self._construct(node, path)

    def _construct(self, node: yaml.Node, path: str) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
            self.problems.append(
                Problem(self.name, node.start_mark.line + 1, path, _construct_problem(node, exc))
            )
            return None

    def _mapping(self, node: yaml.MappingNode, path: str) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(
                        self.name,
                        key_node.start_mark.line + 1,
                        path,
                        "merge keys (<<) are not supported",
                    )
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.problems.append(
                    Problem(
                        self.name, key_node.start_mark.line + 1, path, "keys must be plain strings"
                    )
                )
                continue
            key = self._construct(key_node, path)
            if key is None and key_node.tag != "tag:yaml.org,2002:null":
                continue
            key = str(key) if not isinstance(key, str) else key
            child = join(path, key)
            line = key_node.start_mark.line + 1
            if key in out:
                first = self.lines.get(child)
                self.problems.append(
                    Problem(
                        self.name,
                        line,
                        child,
                        f"duplicate key (first set on line {first}; each key once)",
                    )
                )
                continue
            self.lines[child] = line
            out[key] = self.build(value_node, child)
        return out
