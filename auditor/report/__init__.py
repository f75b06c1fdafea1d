"""Renderers of a finished audit run: HTML, Markdown, JUnit XML, the pair diagram and drift.

Every renderer is pure: a run (and an optional drift report) in, text out. Timestamps come from
the run, never from a clock, so the same run renders to the same bytes.
"""
