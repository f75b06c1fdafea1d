"""The jinja2 environments the report templates render in."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import jinja2
import markupsafe
from jinja2.sandbox import SandboxedEnvironment

from auditor.resources import templates_dir
from auditor.textout import printable

# Mid-line values only: line-start markup (#, -, >) cannot arise after whitespace folding.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(value: object) -> str:
    """Text safe inside a Markdown paragraph or table cell: inventory strings are hostile, so
    markup characters are backslash-escaped and `<`/`&` become entities (Markdown renders raw
    HTML)."""
    text = printable(" ".join(str(value).split()))
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


# Control characters but tab and line ends (harmless in HTML, and the CSV's CRLF is quoted in a
# <pre>): an ESC or BEL from a hostile results document must not reach `cat report.html`.
_HTML_CONTROL = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def html_finalize(value: object) -> object:
    """Every value a template prints, control characters written as their escapes."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return _HTML_CONTROL.sub(lambda m: repr(m.group())[1:-1], value)
    return value


def md_code_fence(text: str) -> str:
    """A backtick fence longer than any backtick run inside `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


@lru_cache(maxsize=8)
def make_env(*, html: bool, user_dir: Path | None = None) -> jinja2.Environment:
    """Templates from `user_dir` first (a user's overrides), then the shipped `report/` ones;
    sandboxed, as the snippets' (auditor.render.environment). One per (html, user_dir) and
    process, so each template compiles once (jinja2 reloads a file that changed)."""
    folders = [str(templates_dir() / "report")]
    if user_dir is not None:
        folders.insert(0, str(user_dir))
    env = SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(folders),
        undefined=jinja2.StrictUndefined,
        autoescape=html,  # Markdown escapes through the `md` filter
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        finalize=html_finalize if html else None,
    )
    env.filters["md"] = md_escape
    env.filters["fence"] = md_code_fence
    return env
