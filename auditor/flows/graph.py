"""The flow graph as JSON, GraphML or Graphviz DOT. Pure and deterministic: nodes sorted by id,
edges by (source, target, key), attributes by name, so the output diffs cleanly."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

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


def _ordered(g: nx.MultiDiGraph, value: Callable[[Any], Any]) -> nx.MultiDiGraph:
    """A copy of `g` with its nodes and edges in sorted order and each attribute passed through
    `value`: the writers of networkx keep insertion order, so this makes their output stable."""
    import networkx as nx  # noqa: PLC0415 - the CLI imports this module lazily anyway

    out: nx.MultiDiGraph = nx.MultiDiGraph()
    out.graph.update({k: value(v) for k, v in sorted(g.graph.items())})
    for n, d in _nodes(g):
        out.add_node(n, **{k: value(v) for k, v in sorted(d.items())})
    for u, v, k, d in _edges(g):
        out.add_edge(u, v, key=k, **{a: value(b) for a, b in sorted(d.items())})
    return out


def to_json(g: nx.MultiDiGraph) -> str:
    """networkx's node-link JSON: {"graph", "nodes": [{"id", ...}], "edges": [{"source",
    "target", "key", ...}]}; sets become sorted lists."""
    import networkx as nx  # noqa: PLC0415

    doc = nx.node_link_data(_ordered(g, _listed), edges="edges")
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def to_graphml(g: nx.MultiDiGraph) -> str:
    """networkx's GraphML; list-valued attributes are joined with "," (GraphML holds scalars
    only). Edge ids are `e0`, `e1`, ... (an id is an XML name token, `tcp/636` is not): the
    multigraph key travels as the edge's `key` attribute."""
    import networkx as nx  # noqa: PLC0415

    ordered = _ordered(g, _scalar)
    out: nx.MultiDiGraph = nx.MultiDiGraph()
    out.graph.update(ordered.graph)
    out.add_nodes_from(ordered.nodes(data=True))
    for i, (u, v, k, d) in enumerate(ordered.edges(keys=True, data=True)):
        out.add_edge(u, v, key=f"e{i}", **d)
        out.edges[u, v, f"e{i}"]["key"] = k
    buffer = io.BytesIO()
    nx.write_graphml(out, buffer)
    return buffer.getvalue().decode("utf-8") + "\n"


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
