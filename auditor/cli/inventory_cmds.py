"""Commands on an inventory alone: check, flows, graph, schema."""
