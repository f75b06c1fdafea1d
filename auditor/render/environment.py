"""The jinja2 environment: the user's `--templates DIR` first, then the shipped templates.

A broken template (a syntax error, an undefined variable, a missing include) is bad input, not
a crash: it becomes an InputError naming the template file and line (exit 2)."""

from __future__ import annotations

import traceback
from functools import lru_cache
from pathlib import Path
from types import TracebackType

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from auditor.errors import InputError, Problem, UsageError
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


def shipped_names() -> list[str]:
    """The renderers' templates (the top of the shipped folder and vendor/; report/ has its
    own loader)."""
    top = templates_dir()
    found = [*top.glob("*.j2"), *top.glob("vendor/*.j2")]
    return sorted(p.relative_to(top).as_posix() for p in found if p.is_file())


def _template_error(exc: TemplateError, name: str, tb: TracebackType | None) -> InputError:
    """`DIR/iptables.rules.j2:12: template error: ...` for the template that failed."""
    file: str | None = None
    line: int | None = None
    if isinstance(exc, TemplateSyntaxError):
        file, line = exc.filename, exc.lineno
    else:
        # jinja2 rewrites a render error's traceback so its frames point at template lines.
        for frame in reversed(traceback.extract_tb(tb)):
            if frame.filename.endswith(".j2"):
                file, line = frame.filename, frame.lineno
                break
    if isinstance(exc, TemplateNotFound):
        message = f"template error: included template {exc.name} not found"
    else:
        message = f"template error: {exc.message or type(exc).__name__}"
    return InputError([Problem(file or name, line, "", message)])


def _load(user_dir: Path | None, name: str) -> Template:
    env = environment(user_dir)
    try:
        return env.get_template(name)
    except TemplateNotFound as exc:
        if exc.name == name:
            raise UsageError(f"template {name} not found") from None
        raise _template_error(exc, name, exc.__traceback__) from None
    except TemplateError as exc:
        raise _template_error(exc, name, exc.__traceback__) from None


def render_template(user_dir: Path | None, name: str, **context: object) -> str:
    template = _load(user_dir, name)
    try:
        return template.render(**context)
    except TemplateError as exc:
        raise _template_error(exc, template.filename or name, exc.__traceback__) from None


def check_templates(templates: Path | None) -> None:
    """Compile every shipped template name with the `--templates` folder applied, so a syntax
    error in an override is an InputError before any probing starts. (An undefined variable
    shows only when rendering; that, too, is an InputError, from render_template.)"""
    problems: list[Problem] = []
    for name in shipped_names():
        try:
            _load(templates, name)
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)
