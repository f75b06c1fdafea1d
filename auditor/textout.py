"""Text bound for a human: a terminal, a table, a Markdown or HTML report. The one sanitiser.

Remote text (an appliance's error message, a server's banner, a record of an evidence file) and
values from a store, a baseline or an inventory are hostile: an ESC, CSI (U+009B) or OSC
sequence would drive the terminal, a CR or a raw newline would forge a line, a bidi override or
isolate (U+202E, U+2066) makes text read as other text, and a zero-width character hides a
difference between two names that look equal. `visible` writes each of them as its escape
(`\\x1b`, `\\x9b`, `\\u202e`, `\\u200b`), and a file name's undecodable byte (a surrogate
escape, `\\udce9`) as the byte (`\\xe9`); every format (terminal, Markdown, HTML) applies this
same rule, then its own escapes on top. `printable` is `visible` on one line; `rich_text` also
escapes rich markup.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL; the soft hyphen; Arabic, Mongolian and general format characters
# (zero-width space, non-joiner and joiner, LRM/RLM, ALM, word joiner, invisible operators);
# the line and paragraph separators; the bidi embeddings, overrides and isolates; the byte order
# mark; interlinear annotation; invisible tag characters; and lone surrogates (undecodable bytes).
_FORMAT = (
    "\x7f-\x9f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
)
UNSAFE_RE = re.compile(f"[\x00-\x1f{_FORMAT}]")
# The same, less tab and line ends: for text shown as a block (a <pre> holding a CSV's CRLF).
UNSAFE_IN_BLOCK_RE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f{_FORMAT}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode: show the byte
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: object, *, block: bool = False) -> str:
    """`text` with every character that is invisible, reorders text or acts on a terminal
    written as its escape; with `block`, tabs and line ends are kept (a <pre>)."""
    pattern = UNSAFE_IN_BLOCK_RE if block else UNSAFE_RE
    return pattern.sub(_escape, str(text))


def printable(text: object) -> str:
    """`text` on one line, every unsafe character written as its escape (`visible`)."""
    return visible(text)


def rich_text(text: object) -> str:
    """`printable(text)`, with rich markup escaped: it prints as written."""
    from rich.markup import escape  # noqa: PLC0415 (the CLI imports this module on every run)

    return escape(printable(text))


def quoted(value: object, limit: int = 80) -> str:
    """A value inside a message, never a Python repr: text in quotes through the sanitiser
    (`'eth 0'`, `'\\x1b[2J'`), anything else as JSON (`["x"]`, `{"y": 1}`, `null`, `true`)."""
    if isinstance(value, str):
        shown = printable(value)
        return "'" + (shown if len(shown) <= limit else shown[:limit] + "...") + "'"
    import json  # noqa: PLC0415 (messages are rare; the CLI imports this module on every run)

    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = type(value).__name__
    shown = printable(text)
    return shown if len(shown) <= limit else shown[:limit] + "..."


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A spreadsheet cell that is never read as a formula (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
