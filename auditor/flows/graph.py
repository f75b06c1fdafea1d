"""The flow graph as JSON, GraphML or Graphviz DOT. Pure and deterministic: nodes sorted by id,
edges by (source, target, key), attributes by name, so the output diffs cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

if TYPE_CHECKING:
    import networkx as nx

_Edge = tuple[str, str, str, dict[str, Any]]

# How each node type looks in DOT.
_DOT_SHAPES = {
    "appliance": "box3d",
    "address": "box",
    "provider": "component",
    "endpoint": "ellipse",
}


def _nodes(g: nx.MultiDiGraph) -> list[tuple[str, dict[str, Any]]]:
    return sorted(((str(n), dict(d)) for n, d in g.nodes(data=True)), key=lambda x: x[0])


def _edges(g: nx.MultiDiGraph) -> list[_Edge]:
    return sorted(
        ((str(u), str(v), str(k), dict(d)) for u, v, k, d in g.edges(keys=True, data=True)),
        key=lambda e: e[:3],
    )


def _listed(value: Any) -> Any:
    if isinstance(value, tuple | list | set | frozenset):
        items = [str(v) for v in value]
        return sorted(items) if isinstance(value, set | frozenset) else items
    return value


def _scalar(value: Any) -> str | int | float | bool:
    value = _listed(value)
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, str | int | float | bool):
        return value
    return str(value)


def to_json(g: nx.MultiDiGraph) -> str:
    """{"graph": {...}, "nodes": [{"id", ...}], "edges": [{"source", "target", "key", ...}]}."""
    doc = {
        "directed": True,
        "multigraph": True,
        "graph": {k: _listed(v) for k, v in sorted(g.graph.items())},
        "nodes": [{"id": n, **{k: _listed(v) for k, v in d.items()}} for n, d in _nodes(g)],
        "edges": [
            {"source": u, "target": v, "key": k, **{a: _listed(b) for a, b in d.items()}}
            for u, v, k, d in _edges(g)
        ],
    }
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


_GRAPHML_TYPES = {bool: "boolean", int: "long", float: "double", str: "string"}


def to_graphml(g: nx.MultiDiGraph) -> str:
    """GraphML; list-valued attributes are joined with "," (GraphML holds scalars only)."""
    nodes = [(n, {k: _scalar(v) for k, v in d.items()}) for n, d in _nodes(g)]
    # Edge ids must be XML name tokens; the multigraph key travels as the "key" attribute.
    edges = [
        (u, v, k, {"key": k, **{a: _scalar(b) for a, b in d.items()}}) for u, v, k, d in _edges(g)
    ]
    graph_attrs = {k: _scalar(v) for k, v in g.graph.items()}
    declared: dict[tuple[str, str], str] = {}
    for domain, items in (
        ("graph", [graph_attrs]),
        ("node", [d for _, d in nodes]),
        ("edge", [d for *_, d in edges]),
    ):
        for attrs in items:
            for name, value in attrs.items():
                kind = _GRAPHML_TYPES[type(value)]
                # One declared type per attribute name; a name seen with two types is a string.
                if declared.setdefault((domain, name), kind) != kind:
                    declared[(domain, name)] = "string"
    ids = {key: f"d{i}" for i, key in enumerate(sorted(declared))}

    def data(domain: str, attrs: dict[str, str | int | float | bool], indent: str) -> list[str]:
        return [
            f"{indent}<data key={quoteattr(ids[(domain, name)])}>{_xml_value(value)}</data>"
            for name, value in sorted(attrs.items())
        ]

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
        'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">',
    ]
    for (domain, name), key_id in sorted(ids.items(), key=lambda x: int(x[1][1:])):
        lines.append(
            f"  <key id={quoteattr(key_id)} for={quoteattr(domain)} "
            f"attr.name={quoteattr(name)} attr.type={quoteattr(declared[(domain, name)])}/>"
        )
    lines.append('  <graph id="G" edgedefault="directed">')
    lines += data("graph", graph_attrs, "    ")
    for n, d in nodes:
        lines.append(f"    <node id={quoteattr(n)}>")
        lines += data("node", d, "      ")
        lines.append("    </node>")
    for i, (u, v, _k, d) in enumerate(edges):
        lines.append(f'    <edge id="e{i}" source={quoteattr(u)} target={quoteattr(v)}>')
        lines += data("edge", d, "      ")
        lines.append("    </edge>")
    lines += ["  </graph>", "</graphml>"]
    return "\n".join(lines) + "\n"


def _xml_value(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _quote(value: Any) -> str:
    text = str(_scalar(value))
    if isinstance(value, bool):
        text = text.lower()
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _attrs(items: dict[str, Any]) -> str:
    return ", ".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(items.items()))


def _dot_lines(g: nx.MultiDiGraph) -> Iterator[str]:
    yield f"digraph {_quote(g.graph.get('name', 'flows'))} {{"
    yield '  graph ["rankdir"="LR"];'
    yield '  node ["fontname"="Helvetica", "fontsize"="10"];'
    yield '  edge ["fontname"="Helvetica", "fontsize"="9"];'
    for n, d in _nodes(g):
        label = n.split(":", 1)[-1]
        if d.get("type") == "address":
            label += f"\n{d.get('role', '')}"
        look = {"label": label, "shape": _DOT_SHAPES.get(str(d.get("type")), "ellipse")}
        yield f"  {_quote(n)} [{_attrs({**d, **look})}];"
    for u, v, k, d in _edges(g):
        style: dict[str, Any] = {"key": k}
        if d.get("type") == "flow":
            style["label"] = k
        else:
            # A disabled address (the shared IP on the backup) is drawn dotted.
            style["style"] = "dotted" if d.get("enabled") is False else "dashed"
        yield f"  {_quote(u)} -> {_quote(v)} [{_attrs({**d, **style})}];"
    yield "}"


def to_dot(g: nx.MultiDiGraph) -> str:
    """Graphviz DOT, every ID and value quoted; list values joined with ","."""
    return "\n".join(_dot_lines(g)) + "\n"
