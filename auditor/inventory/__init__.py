"""The inventory stage: YAML source with line numbers, model, loading, lint, packs."""
