"""The command-line shell: parse, call the pipeline, render, return an exit code."""

from auditor.cli.app import cli, main

__all__ = ["cli", "main"]
