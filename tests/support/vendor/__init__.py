"""Readers for the vendor formats, each written from the vendor's documented grammar for the
subset a change needs: they parse a generated file back and compute what it admits, and refuse
anything they do not understand (so broken output fails the tests instead of being skipped)."""
