"""The one sandbox every template renders in (snippets and reports alike), bounded.

jinja2's `SandboxedEnvironment` keeps a template away from Python's internals and caps `range`
at 100,000 items, but `{{ "x" * 1000000000 }}`, `"x"|center(10**9)` or `"%999999999s" % 1`
would still build a gigabyte and end the run with MemoryError. Here every operator, filter and
method that builds text or a list from a size is checked before it runs: more than MAX_BUILD
characters or items is a SecurityError, which the caller turns into bad input naming the
template file and line (`auditor.render.environment.template_guard`). Templates are read only
from regular files: a FIFO in a template folder is refused, never waited on.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, TemplateNotFound
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment, SecurityError

MAX_BUILD = 1_000_000  # characters or items one operation may build
MAX_EXPONENT = 4096
MAX_TEMPLATE_BYTES = 1024 * 1024
# a width or precision in a %-format or a str.format spec
_PERCENT_SIZE = re.compile(r"%[-+ #0(a-z)]*(\*|[0-9]+)?(?:\.(\*|[0-9]+))?")
_FORMAT_SIZE = re.compile(r"[0-9]+|\*")


def _refuse(size: int, what: str) -> SecurityError:
    return SecurityError(
        f"{what} would build {size:,} characters or items (a template may build at most "
        f"{MAX_BUILD:,} at once)"
    )


def _check_size(size: int, what: str) -> None:
    if size > MAX_BUILD:
        raise _refuse(size, what)


def _check_percent(fmt: str) -> None:
    for match in _PERCENT_SIZE.finditer(fmt):
        for part in match.groups():
            if part == "*":
                raise SecurityError("a %-format may not take its width from an argument (*)")
            if part is not None:
                _check_size(int(part), "a %-format width")


def _check_format_spec(fmt: str) -> None:
    for spec in re.findall(r"\{[^{}]*\}", fmt):
        for part in _FORMAT_SIZE.findall(spec.partition(":")[2]):
            if part.isdigit():
                _check_size(int(part), "a format width")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


def _check_args(name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A size given to a method or filter (a width, a count, a number of words)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_BUILD:
            raise _refuse(value, name)


def _check_replace(text: Any, old: Any, new: Any, count: Any = -1) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        hits = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            hits = min(hits, count)
        _check_size(len(text) + hits * (len(new) - len(old)), "replace")


class BoundedSandbox(SandboxedEnvironment):
    """jinja2's sandbox, with a cap on what one operation may build."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        for name in ("center", "indent", "format", "replace", "slice", "wordwrap", "truncate"):
            self.filters[name] = _bounded_filter(name, self.filters[name])
        self.globals.pop("lipsum", None)  # lipsum(n) writes n paragraphs

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(times, int) and not isinstance(times, bool):
                    _check_size(size * max(times, 0), "repetition (*)")
        elif operator == "**":
            if (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right > MAX_EXPONENT
            ):
                raise SecurityError(f"an exponent above {MAX_EXPONENT} is refused")
        elif operator == "%" and isinstance(left, str):
            _check_percent(left)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        name = getattr(__obj, "__name__", "a call")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if name == "replace":
                _check_replace(owner, *args[:3])
            elif name == "format":
                _check_format_spec(owner)
            _check_args(f"str.{name}", args, kwargs)
        elif name == "format":  # the sandbox's wrapper of str.format
            _check_args("format", args, kwargs)
        return SandboxedEnvironment.call(__self, __context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None:
            _check_format_spec(str(value.__self__))
        return wrapped


def _bounded_filter(name: str, filt: Callable[..., Any]) -> Callable[..., Any]:
    takes_env = getattr(filt, "jinja_pass_arg", None)

    def bounded(*args: Any, **kwargs: Any) -> Any:
        values = args[1:] if takes_env is not None else args
        if name == "replace" and len(values) >= 3:
            _check_replace(str(values[0]), *values[1:4])
        if name == "format" and values and isinstance(values[0], str):
            _check_percent(values[0])
        _check_args(name, values[1:], kwargs)
        return filt(*args, **kwargs)

    if takes_env is not None:
        bounded.jinja_pass_arg = takes_env  # type: ignore[attr-defined]
    return bounded


class RegularFileLoader(FileSystemLoader):
    """FileSystemLoader that reads only regular files of at most MAX_TEMPLATE_BYTES: a FIFO or
    a device in a template folder is refused, never waited on."""

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = split_template_path(template)  # refuses `..`
        for folder in self.searchpath:
            path = Path(folder, *pieces)
            try:
                info = os.stat(path)
            except OSError:
                continue
            if not stat.S_ISREG(info.st_mode):
                raise SecurityError(f"{path} is not a regular file (a FIFO, socket or device)")
            if info.st_size > MAX_TEMPLATE_BYTES:
                raise SecurityError(f"{path} is larger than {MAX_TEMPLATE_BYTES // 1024} KiB")
            return super().get_source(environment, template)
        raise TemplateNotFound(template)
