"""Read a YAML file into plain Python data plus a map from field path to line number.

PyYAML's composer keeps a start mark on every node; we build the Python values ourselves from
the node tree so that each field path (`pair.primary.addresses[0].ip`) keeps its line. Doing it
ourselves also lets us see duplicate keys (the stock constructor silently keeps the last one)
and bound the work: a size cap on the file and a cap on the number of nodes, so a huge file or
an alias bomb is refused instead of eating memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from auditor.errors import InputError, Problem
from auditor.inventory.model import nearest_line

MAX_BYTES = 4 * 1024 * 1024
MAX_NODES = 200_000


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


def read_bytes(path: Path, display: str, max_bytes: int = MAX_BYTES) -> bytes:
    """Read at most `max_bytes` (+1 to notice a larger file) without loading a huge file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError([Problem(display, None, "", "file not found")]) from None
    except IsADirectoryError:
        raise InputError([Problem(display, None, "", "is a directory, not a file")]) from None
    except PermissionError:
        raise InputError([Problem(display, None, "", "permission denied")]) from None
    except OSError as exc:
        raise InputError([Problem(display, None, "", f"cannot read: {exc.strerror}")]) from None
    if len(raw) > max_bytes:
        raise InputError(
            [
                Problem(
                    display,
                    None,
                    "",
                    f"file is larger than {max_bytes // 1024} KiB "
                    "(expected a hand-sized YAML file; is this the right file?)",
                )
            ]
        )
    return raw


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

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
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


class _Builder:
    def __init__(self, name: str, loader: yaml.SafeLoader, max_nodes: int) -> None:
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
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, join(path, i)) for i, item in enumerate(node.value)]
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problems.append(
                Problem(self.name, node.start_mark.line + 1, path, f"bad value: {exc}")
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
            key = self.loader.construct_object(key_node)
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
