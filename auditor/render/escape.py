"""Making inventory text safe where it lands in a snippet.

Names (chains, nft tables and sets, pf tables) are rebuilt from a small alphabet, so they can
never carry syntax. Free text (comments, labels) is cut to a conservative printable-ASCII subset:
no quotes, no backslash (a pf or shell line continuation), no `#`, `;`, `$`, braces, backticks or
line breaks, so it can neither end its string nor start a new statement in any of the formats.
Markdown and CSV have their own escapes below.
"""

from __future__ import annotations

import re
import unicodedata

_NAME_BAD = re.compile(r"[^A-Za-z0-9_-]+")
_IDENT_BAD = re.compile(r"[^A-Za-z0-9_]+")
_TEXT_BAD = re.compile(r"[^A-Za-z0-9 .,:/()+=@%_-]+")
_SPACES = re.compile(r"\s+")

IPTABLES_CHAIN_MAX = 28  # XT_EXTENSION_MAXNAMELEN (29) less the NUL
IPTABLES_COMMENT_MAX = 255  # xt_comment: 256 bytes with the NUL
NFT_COMMENT_MAX = 128  # NFT_USERDATA_MAXLEN for a rule comment
NFT_NAME_MAX = 64
PF_TABLE_MAX = 31  # PF_TABLE_NAME_SIZE (32) less the NUL
PF_LABEL_MAX = 63  # PF_RULE_LABEL_SIZE (64) less the NUL
PF_ANCHOR_MAX = 63  # PF_ANCHOR_NAME_SIZE (64) less the NUL, per path component


def ascii_fold(text: str) -> str:
    """`Zürich` -> `Zurich`; characters with no ASCII form are dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def safe_text(text: str, limit: int) -> str:
    """Free text for a comment or label: the safe subset, one line, at most `limit` bytes."""
    flat = _SPACES.sub(" ", ascii_fold(text))
    cleaned = _TEXT_BAD.sub("_", flat).strip()
    return cut_words(cleaned, limit)


def cut_words(text: str, limit: int) -> str:
    """`text` cut to `limit` at a word boundary (mid-word only when a single word is longer
    than half the room)."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else text[:limit]).rstrip()


def _cut_name(body: str, room: int, sep: str) -> str:
    """`body` within `room` characters, at a separator where that keeps at least half."""
    if len(body) <= room:
        return body
    head = body[: room + 1]
    at = head.rfind(sep)
    return (head[:at] if at >= room // 2 else body[:room]).rstrip(sep)


def _with_change(prefix: str, body: str, change: str, limit: int, sep: str) -> str:
    """`PREFIX<site>SEP<change>` within `limit`: the site part is cut to fit. The change id is
    a digest of the exact site name as well, so a cut or a lossy clean-up of the site can never
    make two sites share a name."""
    room = limit - len(prefix) - len(sep) - len(change)
    return prefix + _cut_name(body, room, sep) + sep + change


def chain_name(site: str, change: str, prefix: str = "AUD-") -> str:
    """The iptables chain of one change for the site: `AUD-support-example-1a2b3c`, <= 28
    characters. The prefix keeps it clear of built-in chains and targets (ACCEPT, DROP...)."""
    body = _NAME_BAD.sub("-", ascii_fold(site)).strip("-") or "site"
    return _with_change(prefix, body, change, IPTABLES_CHAIN_MAX, "-")


def identifier(text: str, change: str, prefix: str, limit: int) -> str:
    """An nft or pf identifier for one change: a letter first, then letters, digits and `_`."""
    body = _IDENT_BAD.sub("_", ascii_fold(text)).strip("_") or "site"
    return _with_change(prefix, body, change, limit, "_")


# nft names: a chain or table for the change, and room left for its sets' `_dst6_123`.
NFT_CHANGE_MAX = NFT_NAME_MAX - 16


def nft_name(site: str, change: str) -> str:
    """The nft table (own-table mode) or chain (inside an existing table) of one change."""
    return identifier(site, change, "auditor_", NFT_CHANGE_MAX)


def pf_table_prefix(site: str, change: str) -> str:
    """Prefix for the pf tables of a change, short enough to leave room for `_s12`."""
    return identifier(site, change, "aud_", PF_TABLE_MAX - 6)


def pf_anchor(site: str, change: str) -> str:
    """The pf anchor of one change, under `auditor/` (the main ruleset says `anchor
    "auditor/*"` once and so evaluates every change)."""
    return "auditor/" + identifier(site, change, "aud_", PF_ANCHOR_MAX)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_text(text: str) -> str:
    """Inline Markdown that renders as the literal text: one line, specials escaped."""
    flat = _SPACES.sub(" ", text).strip()
    flat = "".join(ch for ch in flat if unicodedata.category(ch)[0] != "C")
    return _MD_SPECIAL.sub(r"\\\1", flat)
