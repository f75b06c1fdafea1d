"""The one redaction step: outside text never carries a configured secret into the product.

Every secret the run reads (a bind password, a RADIUS shared secret, the health API's client id
and secret, the bearer token it is given) is a `Secret`, and a `Secret` registers its value here
when it is made. Outside text enters at three places: the health API's answers (reason phrase,
error body, document fields), the probes' observations (server banners and messages) and the
records of evidence files; each passes `redact` there, before it is cut, folded or shown, so a
secret an appliance or a server echoes reaches no terminal, report, JUnit file, run document or
store row. The forms removed: the value itself, its URL encodings, its JSON string escape, its
base64 (standard and URL-safe), and the base64 of `id:secret` (an HTTP Basic header).

The secrets known belong to one command run (`redacting()`, entered by the CLI); outside such a
scope the secrets of the process are collected in a default scope.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote, quote_plus

REDACTED = "[redacted]"
# A secret shorter than this cannot be told apart from ordinary text: replacing every `abc`
# would shred the output and still say which three letters the secret is.
MIN_SECRET = 4


def _forms(value: str) -> set[str]:
    raw = value.encode("utf-8")
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value, ensure_ascii=True)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    for b64 in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = b64.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return {f for f in forms if len(f) >= MIN_SECRET}


class Redactor:
    """The secret values of one run and every form of them that is removed from outside text."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._forms: tuple[str, ...] = ()

    def add(self, value: str) -> None:
        """Remove `value` (and its encodings) from every text redacted from now on."""
        if len(value) < MIN_SECRET:
            return
        with self._lock:
            # longest first: a form that holds another is replaced whole
            self._forms = tuple(sorted(set(self._forms) | _forms(value), key=lambda f: -len(f)))

    def add_pair(self, user: str, secret: str) -> None:
        """An HTTP Basic credential: `user:secret` and its base64 too."""
        if len(secret) >= MIN_SECRET:
            self.add(f"{user}:{secret}")

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text


_default = Redactor()
_scopes: list[Redactor] = []
_scopes_lock = threading.Lock()


def current() -> Redactor:
    """The redactor of the running command (threads of the run share it)."""
    with _scopes_lock:
        return _scopes[-1] if _scopes else _default


@contextmanager
def redacting() -> Iterator[Redactor]:
    """A fresh set of secrets for one command run."""
    scope = Redactor()
    with _scopes_lock:
        _scopes.append(scope)
    try:
        yield scope
    finally:
        with _scopes_lock:
            _scopes.remove(scope)


def register(value: str) -> None:
    current().add(value)


def register_pair(user: str, secret: str) -> None:
    current().add_pair(user, secret)


def redact(text: str) -> str:
    """`text` with every form of every known secret replaced by `[redacted]`."""
    return current()(text)
