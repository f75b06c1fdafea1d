"""The jinja2 environment: the user's `--templates DIR` first, then the shipped templates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
)

from auditor.errors import UsageError
from auditor.resources import templates_dir


@lru_cache(maxsize=8)
def environment(user_dir: Path | None = None) -> Environment:
    loaders: list[BaseLoader] = []
    if user_dir is not None:
        if not user_dir.is_dir():
            raise UsageError(f"--templates {user_dir}: not a directory")
        loaders.append(FileSystemLoader(str(user_dir)))
    loaders.append(FileSystemLoader(str(templates_dir())))
    # Not HTML: every value is escaped for its own format before it reaches a template.
    return Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701
    )


def render_template(user_dir: Path | None, name: str, **context: object) -> str:
    try:
        template = environment(user_dir).get_template(name)
    except TemplateNotFound:
        raise UsageError(f"template {name} not found") from None
    return template.render(**context)
