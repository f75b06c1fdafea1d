"""The jinja2 environments the report templates render in."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from auditor.render.sandbox import BoundedSandbox, RegularFileLoader
from auditor.resources import templates_dir
from auditor.textout import printable, visible

# Mid-line values only: line-start markup (#, -, >) cannot arise after whitespace folding.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|])")


def md_escape(value: object) -> str:
    """Text safe inside a Markdown paragraph or table cell: inventory strings are hostile, so
    markup characters are backslash-escaped and `<`/`&` become entities (Markdown renders raw
    HTML)."""
    text = printable(" ".join(str(value).split()))
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def html_finalize(value: object) -> object:
    """Every value a template prints, through the one sanitiser (tabs and line feeds kept: a
    <pre> shows them as they are): an ESC or BEL from a hostile results document must not reach
    `cat report.html`, nor a bidi override reorder what a reader sees."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return visible(value, block=True)
    return value


def md_code_fence(text: str) -> str:
    """A backtick fence longer than any backtick run inside `text`."""
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


@lru_cache(maxsize=8)
def make_env(*, html: bool, user_dir: Path | None = None) -> jinja2.Environment:
    """Templates from `user_dir` first (a user's overrides), then the shipped `report/` ones.
    As the snippets' (auditor.render.environment, whose docstring has the reasoning): with a
    user's folder everything renders in the bounded sandbox; the shipped templates alone render
    in a plain Environment, each compiled once per process (no reload check)."""
    folders = [str(templates_dir() / "report")]
    options: dict[str, Any] = {
        "undefined": jinja2.StrictUndefined,
        "autoescape": html,  # Markdown escapes through the `md` filter
        "trim_blocks": True,
        "lstrip_blocks": True,
        "keep_trailing_newline": True,
        "finalize": html_finalize if html else None,
    }
    env: jinja2.Environment
    if user_dir is None:
        # autoescape is in `options`: on for HTML; Markdown escapes through the `md` filter
        env = jinja2.Environment(  # noqa: S701
            loader=RegularFileLoader(folders), auto_reload=False, **options
        )
    else:
        env = BoundedSandbox(loader=RegularFileLoader([str(user_dir), *folders]), **options)
    env.filters["md"] = md_escape
    env.filters["fence"] = md_code_fence
    return env
