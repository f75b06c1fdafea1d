"""The one golden-file helper: compare an output with tests/golden/NAME, byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """Compare `text` with tests/golden/NAME (NAME may hold a folder: `render/pf.conf`).

    On a mismatch NAME.actual is written beside the reference (diff them); UPDATE_GOLDEN=1
    rewrites the reference instead. Newlines are kept as they are (the CSV has CRLF)."""
    ref = GOLDEN / name
    actual = ref.with_name(ref.name + ".actual")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(text, encoding="utf-8", newline="")
    expected = ref.read_bytes().decode("utf-8") if ref.exists() else None
    if expected != text:
        actual.parent.mkdir(parents=True, exist_ok=True)
        actual.write_text(text, encoding="utf-8", newline="")
        what = "has no golden file" if expected is None else "differs from its golden file"
        raise AssertionError(
            f"{name} {what}; see {actual} (rerun with UPDATE_GOLDEN=1 if the change is intended)"
        )
    actual.unlink(missing_ok=True)
