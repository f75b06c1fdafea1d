"""Evidence: what was checked, from where, by which method, and what it showed."""
