"""Making inventory text safe where it lands in a snippet.

Names (chains, nft tables and sets, pf tables) are rebuilt from a small alphabet, so they can
never carry syntax. Free text (comments, labels) is cut to a conservative printable-ASCII subset:
no quotes, no backslash (a pf or shell line continuation), no `#`, `;`, `$`, braces, backticks or
line breaks, so it can neither end its string nor start a new statement in any of the formats.
Markdown and CSV have their own escapes below.
"""

from __future__ import annotations

import hashlib
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


def ascii_fold(text: str) -> str:
    """`Zürich` -> `Zurich`; characters with no ASCII form are dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def safe_text(text: str, limit: int) -> str:
    """Free text for a comment or label: the safe subset, one line, at most `limit` bytes."""
    flat = _SPACES.sub(" ", ascii_fold(text))
    cleaned = _TEXT_BAD.sub("_", flat).strip()
    return cleaned[:limit].rstrip()


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:6]


def _fit(base: str, original: str, limit: int, sep: str) -> str:
    """Cut `base` to `limit`; a cut (or any lossy clean-up) gets a short digest of the original
    so two different sites never share a name."""
    if len(base) <= limit and base == original:
        return base
    tag = _digest(original)
    return base[: limit - len(tag) - len(sep)].rstrip(sep) + sep + tag


def chain_name(site: str, prefix: str = "AUD-") -> str:
    """An iptables chain for the site: `AUD-support-example-com`, <= 28 characters. The prefix
    keeps it clear of built-in chains and targets (ACCEPT, DROP, FORWARD...)."""
    body = _NAME_BAD.sub("-", ascii_fold(site)).strip("-") or "site"
    exact = prefix + _NAME_BAD.sub("-", site).strip("-")
    return _fit(prefix + body, exact, IPTABLES_CHAIN_MAX, "-")


def identifier(text: str, prefix: str, limit: int) -> str:
    """An nft or pf identifier: a letter first, then letters, digits and `_`."""
    body = _IDENT_BAD.sub("_", ascii_fold(text)).strip("_") or "site"
    exact = prefix + _IDENT_BAD.sub("_", text).strip("_")
    return _fit(prefix + body, exact, limit, "_")


def nft_table_name(site: str) -> str:
    return identifier(site, "auditor_", NFT_NAME_MAX)


def pf_table_prefix(site: str) -> str:
    """Prefix for the pf tables of a site, short enough to leave room for `_s12`."""
    return identifier(site, "aud_", PF_TABLE_MAX - 6)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")


def markdown_text(text: str) -> str:
    """Inline Markdown that renders as the literal text: one line, specials escaped."""
    flat = _SPACES.sub(" ", text).strip()
    flat = "".join(ch for ch in flat if unicodedata.category(ch)[0] != "C")
    return _MD_SPECIAL.sub(r"\\\1", flat)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(text: str) -> str:
    """A spreadsheet cell that is never read as a formula (OWASP CSV injection advice)."""
    return "'" + text if text.startswith(_FORMULA_START) else text
