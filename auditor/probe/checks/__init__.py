"""The check registry."""
