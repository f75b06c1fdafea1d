"""The jinja2 environment: the user's `--templates DIR` first, then the shipped templates.

A user's template folder is hostile input: with `--templates DIR` every template renders in
the bounded sandbox (`auditor.render.sandbox.BoundedSandbox`), the user's own and every shipped
template of that run alike, so whatever a user template includes is sandboxed too. A template
folder may format the data it is given (loops, conditions, filters, includes of its own folder)
but cannot reach Python internals (`cycler.__init__.__globals__` is a SecurityError), call
anything that changes state, nor build more than MAX_BUILD characters or items at once.

Without `--templates` only the shipped templates render, and they render in a plain jinja2
Environment (same options, `auto_reload` off: each compiles once per process). They are the
project's own code, as trusted as the Python that calls them: the sandbox guards against the
template's code, not against the data, and the data is never template code (inventory strings,
results and rulesets reach a template only as values, already escaped for its format, and
jinja2 never evaluates a value). The sandbox's per-attribute checks were about a third of the
CPU of rendering a pair's snippets and reports in a fleet (docs/benchmarks.md, fleetrender).
The output is the same either way (tests/test_render_environment.py renders every format both
ways and compares them byte for byte).

A broken template (a syntax error, an undefined variable, a missing include, `{{ 1/0 }}`, a
refused attribute) is bad input, not a crash: it becomes an InputError naming the template file
and line (exit 2)."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from auditor.errors import InputError, Problem, UsageError
from auditor.render.sandbox import BoundedSandbox, RegularFileLoader
from auditor.resources import templates_dir

_OPTIONS: dict[str, Any] = {
    "undefined": StrictUndefined,
    "trim_blocks": True,
    "lstrip_blocks": True,
    "keep_trailing_newline": True,
    "autoescape": False,  # not HTML: every value is escaped for its own format
}


@lru_cache(maxsize=8)
def environment(user_dir: Path | None = None) -> Environment:
    """The shipped templates alone in a plain Environment; with a user's folder, the bounded
    sandbox for everything (see the module's docstring)."""
    if user_dir is None:
        shipped = RegularFileLoader(str(templates_dir()))
        # autoescape off: not HTML; every value is escaped for its own format beforehand
        return Environment(loader=shipped, auto_reload=False, **_OPTIONS)  # noqa: S701
    if not user_dir.is_dir():
        raise UsageError(f"--templates {user_dir}: not a directory")
    loaders: list[BaseLoader] = [
        RegularFileLoader(str(user_dir)),
        RegularFileLoader(str(templates_dir())),
    ]
    return BoundedSandbox(loader=ChoiceLoader(loaders), **_OPTIONS)


def shipped_names() -> list[str]:
    """The renderers' templates (the top of the shipped folder and vendor/; report/ has its
    own loader)."""
    top = templates_dir()
    found = [*top.glob("*.j2"), *top.glob("vendor/*.j2")]
    return sorted(p.relative_to(top).as_posix() for p in found if p.is_file())


def _template_error(exc: Exception, name: str, tb: TracebackType | None) -> InputError:
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
    elif isinstance(exc, TemplateError):
        message = f"template error: {exc.message or type(exc).__name__}"
    else:
        message = f"template error: {type(exc).__name__}: {exc}"
    return InputError([Problem(file or name, line, "", " ".join(message.split()))])


def _in_folder(tb: TracebackType | None, folder: Path | None) -> bool:
    """True when the innermost template frame of `tb` is a template of `folder`."""
    if folder is None:
        return False
    for frame in reversed(traceback.extract_tb(tb)):
        if frame.filename.endswith(".j2"):
            return Path(frame.filename).resolve().is_relative_to(folder.resolve())
    return False


@contextmanager
def template_guard(user_dir: Path | None, name: str) -> Iterator[None]:
    """Turn a template's failure into bad input: any jinja2 error, and any Python error raised
    by the code of a user's template (`{{ 1/0 }}`); an error in a shipped template is a bug and
    stays one."""
    try:
        yield
    except TemplateError as exc:
        raise _template_error(exc, name, exc.__traceback__) from None
    except Exception as exc:
        if not _in_folder(exc.__traceback__, user_dir):
            raise
        raise _template_error(exc, name, exc.__traceback__) from None


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
    with template_guard(user_dir, template.filename or name):
        return template.render(**context)


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
