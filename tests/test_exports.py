"""Flow and graph exports: golden files for the example, and what each format promises
(parseable by its usual reader, deterministic, escaped).

UPDATE_GOLDEN=1 rewrites the golden files; a mismatch writes `<name>.actual` beside them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import shutil
import subprocess
from collections.abc import Callable

import networkx as nx
import pytest
from factories import example_inventory, provider, with_providers
from golden_support import assert_golden
from netaddr import IPAddress
from support.model import build_flows

from auditor.flows.derive import build_graph
from auditor.flows.export import (
    FLOW_FIELDS,
    TABLE_HEADER,
    flows_table_rows,
    flows_to_csv,
    flows_to_json,
)
from auditor.flows.graph import to_dot, to_graphml, to_json
from auditor.inventory.packs import load_packs
from auditor.model.inventory import Flow


def example_flows() -> tuple[Flow, ...]:
    return build_flows(example_inventory(), load_packs(), resolve=None)


def example_graph() -> nx.MultiDiGraph:
    inv = example_inventory()
    return build_graph(inv, build_flows(inv, load_packs(), resolve=None))


FLOW_FORMATS: dict[str, Callable[[tuple[Flow, ...]], str]] = {
    "flows.csv": flows_to_csv,
    "flows.json": flows_to_json,
}
GRAPH_FORMATS: dict[str, Callable[[nx.MultiDiGraph], str]] = {
    "graph.json": to_json,
    "graph.graphml": to_graphml,
    "graph.dot": to_dot,
}


@pytest.mark.parametrize("name", sorted(FLOW_FORMATS))
def test_flow_exports_of_the_example_match_the_golden_files(name: str) -> None:
    assert_golden(name, FLOW_FORMATS[name](example_flows()))


@pytest.mark.parametrize("name", sorted(GRAPH_FORMATS))
def test_graph_exports_of_the_example_match_the_golden_files(name: str) -> None:
    assert_golden(name, GRAPH_FORMATS[name](example_graph()))


# --- flows ----------------------------------------------------------------------------------


def test_the_csv_has_a_header_and_one_row_per_flow() -> None:
    rows = list(csv.DictReader(io.StringIO(flows_to_csv(example_flows()))))
    assert len(rows) == 14
    assert tuple(rows[0]) == FLOW_FIELDS
    assert rows[0]["states"] == "primary-active backup-active"
    assert rows[0]["appliances"] == "site1 site2"


def test_the_json_lists_every_flow_with_list_valued_attributes() -> None:
    doc = json.loads(flows_to_json(example_flows()))
    assert doc["count"] == 14
    first = doc["flows"][0]
    assert first["source"] == "198.51.100.10"
    assert first["checks"] == ["tcp", "tls", "ldap-bind"]
    assert first["port"] == 636


def test_table_rows_start_with_the_header_and_show_names_beside_addresses() -> None:
    header, *rows = flows_table_rows(example_flows())
    assert header == TABLE_HEADER
    assert len(rows) == 14
    assert all(len(row) == len(TABLE_HEADER) for row in rows)
    assert rows[0] == (
        "198.51.100.10",
        "shared",
        "203.0.113.10",
        "636/tcp",
        "corp-ad",
        "tcp, tls, ldap-bind",
        "site1, site2",
        "both",
    )
    inv = with_providers(example_inventory(), provider("ad", "ldaps", "ad.example.com"))
    named = build_flows(inv, load_packs(), resolve=lambda _name: [IPAddress("203.0.113.10")])
    assert flows_table_rows(named)[1][2] == "203.0.113.10 (ad.example.com)"


# --- graph ----------------------------------------------------------------------------------


def test_graphml_reads_back_with_the_same_nodes_edges_and_scalar_attributes() -> None:
    g = example_graph()
    back = nx.read_graphml(io.BytesIO(to_graphml(g).encode()), force_multigraph=True)
    assert sorted(back.nodes) == sorted(g.nodes)
    assert back.number_of_edges() == g.number_of_edges()
    node = back.nodes["address:198.51.100.10"]
    assert (node["enabled"], node["prefixlen"], node["appliances"]) == (True, 24, "site1,site2")


def test_graph_json_holds_every_node_and_edge() -> None:
    doc = json.loads(to_json(example_graph()))
    assert (len(doc["nodes"]), len(doc["edges"])) == (12, 22)
    assert doc["graph"] == {"name": "support.example.com"}


def test_exports_do_not_depend_on_insertion_order() -> None:
    inv = example_inventory()
    flows = list(build_flows(inv, load_packs(), resolve=None))
    random.Random(7).shuffle(flows)
    g = build_graph(inv, flows)
    for name, render in GRAPH_FORMATS.items():
        assert render(g) == render(example_graph()), name


def test_dot_escapes_quotes_and_backslashes() -> None:
    g: nx.MultiDiGraph = nx.MultiDiGraph(name='say "hi"')
    g.add_node('provider:a"b\\c', type="provider", name='a"b\\c')
    text = to_dot(g)
    assert text.startswith('digraph "say \\"hi\\"" {')
    assert '"provider:a\\"b\\\\c"' in text
    assert (
        '  "provider:a\\"b\\\\c" ["label"="a\\"b\\\\c", "name"="a\\"b\\\\c", '
        '"shape"="component", "type"="provider"];'
    ) in text.splitlines()


def test_graphviz_accepts_the_dot_output() -> None:
    if shutil.which("dot") is None:
        if os.environ.get("CI"):
            pytest.fail("graphviz `dot` is missing (make deps installs it)")
        pytest.skip("graphviz `dot` is not installed (make deps installs it)")
    g = example_graph()
    g.add_node('provider:a"b\\c', type="provider", name='say "hi"\nthere')
    done = subprocess.run(
        ["dot", "-Tcanon"], input=to_dot(g), capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert '"provider:a\\"b\\\\c"' in done.stdout
