"""Read a fleet file (YAML): every problem located (`FILE:LINE: field: message`), all of them
at once, before anything runs. Paths are relative to the fleet file."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from auditor.claim.detect import ClaimMode
from auditor.claim.namespace import ClaimRequest
from auditor.claim.request import MODES, gateways_problem, parse_gateway
from auditor.documents.yamlsource import join, load_yaml
from auditor.errors import InputError, Problem, UsageError
from auditor.fleet.notify import PLACEHOLDER as _PLACEHOLDER
from auditor.fleet.notify import foreign_secret, sendable
from auditor.fleet.spec import (
    DEFAULT_REMOTE_AUDITOR,
    DEFAULT_SSH_PORT,
    FleetSpec,
    NotifyOn,
    NotifyTarget,
    PairSpec,
    ProbeHost,
    SiteSpec,
)
from auditor.history.location import StoreLocation, StoreURLError, parse_store
from auditor.inventory.fields import FieldReader, show
from auditor.inventory.secrets import secret_variables
from auditor.model.inventory import Inventory
from auditor.values import (
    has_control,
    interface_problem,
    is_env_name,
    is_hostname,
    is_posix_user,
)

MAX_BYTES = 1024 * 1024
MAX_URL = 2000
TOP_KEYS = {"sites": True, "store": False, "notify": False, "notify_on": False}
SITE_KEYS = {
    "name": True,
    "probe_host": False,
    "ssh_key": False,
    "known_hosts": False,
    "auditor": False,
    "pairs": True,
}
PAIR_KEYS = {
    "inventory": True,
    "ruleset": False,
    "ipset": False,
    "evidence": False,
    "claim": False,
}
CLAIM_KEYS = {"interface": True, "mode": False, "gateways": False}


def expand_notify(written: str, *, secrets: bool = True) -> tuple[NotifyTarget | None, str | None]:
    """An Apprise URL with `${VAR}` placeholders filled from the environment; or why not.
    The message never holds a variable's value. `secrets=False` (printing a schedule, whose
    secrets are in the unit's environment file, not here): an unset variable is no problem,
    the URL is checked with a stand-in."""
    if has_control(written) or len(written) > MAX_URL:
        return None, f"expected one line of at most {MAX_URL} characters"
    scheme = urlsplit(written).scheme
    if not scheme or "://" not in written:
        return None, "expected an Apprise URL such as mailtos://..., json://..., slack://..."
    if (why := foreign_secret(written)) is not None:  # refused before any value is read
        return None, why
    problems: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if not is_env_name(name):
            problems.append(f"${{{name}}} is not an environment variable name")
            return ""
        value = os.environ.get(name)
        if value is None and not secrets:
            return "stand-in"
        if value is None:
            problems.append(f"environment variable {name} is not set")
            return ""
        return value

    url = _PLACEHOLDER.sub(fill, written)
    if problems:
        return None, "; ".join(problems)
    if not sendable(url):
        return None, (
            "not a URL Apprise can send to (expected a supported scheme with its parts, such "
            "as mailtos://USER:${PASSWORD}@HOST?to=ADDRESS, json://HOST/PATH, slack://...)"
        )
    return NotifyTarget(written=written, url=url), None


def load_fleet(path: Path, *, secrets: bool = True) -> FleetSpec:
    """The fleet file, checked; `secrets=False`: its notify URLs' `${VAR}` need not be set
    (a schedule is printed where the secrets are not)."""
    doc = load_yaml(path, max_bytes=MAX_BYTES)
    reader = FieldReader(doc, path)
    top = reader.mapping("", doc.data, TOP_KEYS)
    if top is None:  # not a fleet file at all: that one line, not what it then lacks
        raise InputError(reader.problems)
    store = _store(reader, top)
    notify = _notify(reader, top.get("notify"), secrets=secrets)
    notify_on = None
    if "notify_on" in top:
        notify_on = reader.choice(
            "notify_on", top["notify_on"], NotifyOn, [n.value for n in NotifyOn]
        )
    sites: list[SiteSpec] = []
    for i, raw in enumerate(
        reader.sequence("sites", top.get("sites", []), "site", allow_empty=False)
    ):
        site = _site(reader, f"sites[{i}]", raw)
        if site is not None:
            sites.append(site)
    seen: dict[str, str] = {}
    for i, site in enumerate(sites):
        if site.name in seen:
            reader.problem(
                f"sites[{i}].name",
                f"site {site.name!r} is named twice (first at {seen[site.name]})",
            )
        seen.setdefault(site.name, f"sites[{i}]")
    _check_files(reader, sites)
    if reader.problems:
        raise InputError(reader.problems)
    return FleetSpec(
        source=path, sites=tuple(sites), store=store, notify=notify, notify_on=notify_on
    )


def _store(reader: FieldReader, top: dict[str, Any]) -> StoreLocation | None:
    if "store" not in top:
        return None
    text = reader.text("store", top["store"])
    if text is None:
        return None
    if _PLACEHOLDER.search(text):  # a SQLite file would be made in a folder named "${HOME}"
        reader.problem(
            "store",
            "${VAR} is read from the environment in notify URLs only (expected the store's "
            "path or URL as it is; a password is PGPASSWORD's)",
        )
        return None
    try:
        where = parse_store(text)
    except StoreURLError as exc:
        reader.problem("store", str(exc))
        return None
    if where.path is not None and not where.path.is_absolute():
        where = parse_store(reader.base / where.path)
    return where


def _notify(reader: FieldReader, value: Any, *, secrets: bool) -> tuple[NotifyTarget, ...]:
    if value is None:
        return ()
    found: list[NotifyTarget] = []
    for i, item in enumerate(reader.sequence("notify", value, "Apprise URLs")):
        field = f"notify[{i}]"
        if not isinstance(item, str):
            reader.problem(field, f"expected an Apprise URL, got {show(item)}")
            continue
        target, why = expand_notify(item, secrets=secrets)
        if target is None:
            reader.problem(field, f"{why} (the URL is not shown: it may hold a secret)")
        else:
            found.append(replace(target, line=reader.doc.line(field)))
    return tuple(found)


def _site(reader: FieldReader, path: str, raw: Any) -> SiteSpec | None:
    data = reader.mapping(path, raw, SITE_KEYS)
    if data is None:
        return None
    name = reader.name(join(path, "name"), data.get("name"))
    host = _probe_host(reader, path, data)
    pairs: list[PairSpec] = []
    for i, item in enumerate(
        reader.sequence(join(path, "pairs"), data.get("pairs", []), "pair", allow_empty=False)
    ):
        pair = _pair(reader, f"{path}.pairs[{i}]", item)
        if pair is not None:
            if pair.claim is not None and pair.evidence and host is None:
                reader.problem(
                    f"{path}.pairs[{i}].claim",
                    "claim probes from this host; evidence: takes probes already made (this "
                    "site has no probe_host): give one of them",
                )
            pairs.append(pair)
    if name is None:
        return None
    return SiteSpec(name=name, pairs=tuple(pairs), probe_host=host, line=reader.doc.line(path))


def _probe_host(reader: FieldReader, path: str, data: dict[str, Any]) -> ProbeHost | None:
    if "probe_host" not in data:
        for extra in ("ssh_key", "known_hosts", "auditor"):
            if extra in data:
                reader.problem(
                    join(path, extra), "only with probe_host (this site is probed from this host)"
                )
        return None
    field = join(path, "probe_host")
    text = reader.text(field, data["probe_host"])
    if text is None:
        return None
    expected = "expected ssh://USER@HOST[:PORT]"
    parts = urlsplit(text)
    port = _port(parts.netloc)
    if port is None:
        reader.problem(field, f"the port is not a number 1-65535 ({expected})")
        return None
    if parts.scheme != "ssh" or parts.path not in ("", "/") or parts.query:
        reader.problem(field, f"{show(text)} ({expected})")
        return None
    if parts.password is not None:
        reader.problem(field, "a password in the URL is refused: use ssh_key or the SSH agent")
        return None
    if not parts.username or not is_posix_user(parts.username):
        reader.problem(field, f"no user name, or not a user name ({expected})")
        return None
    hostname = parts.hostname or ""
    if not (is_hostname(hostname) or _is_ip(hostname)):
        reader.problem(field, f"host {show(hostname)} is not a hostname or an address ({expected})")
        return None
    key = reader.file_path(join(path, "ssh_key"), data["ssh_key"]) if "ssh_key" in data else None
    known = (
        reader.file_path(join(path, "known_hosts"), data["known_hosts"])
        if "known_hosts" in data
        else None
    )
    if known is None and not (Path.home() / ".ssh" / "known_hosts").is_file():
        reader.problem(
            field,
            "no known_hosts given and ~/.ssh/known_hosts not found (expected a known_hosts file "
            "that names the probe host's key: host keys are never accepted unseen)",
        )
    for label, file in (("ssh_key", key), ("known_hosts", known)):
        if file is not None and not file.is_file():
            reader.problem(
                join(path, label), f"{file}: {_missing(file)} (expected a readable file)"
            )
    remote = DEFAULT_REMOTE_AUDITOR
    if "auditor" in data:
        given = reader.text(join(path, "auditor"), data["auditor"])
        if given is not None and (not given or any(c in given for c in " '\"\\$`;|&<>")):
            reader.problem(
                join(path, "auditor"),
                "expected the path of the auditor executable on the probe host, without spaces "
                "or shell characters",
            )
        elif given is not None:
            remote = given
    return ProbeHost(parts.username, hostname, port, key, known, remote)


def _port(netloc: str) -> int | None:
    """The port of `USER@HOST[:PORT]` (22 when none is written); None when it is not 1-65535
    (0 too: taken as "none", it would have been 22, another port than the one written)."""
    try:
        port = urlsplit(f"ssh://{netloc}").port
    except ValueError:
        return None
    if port == 0:
        return None
    return port or DEFAULT_SSH_PORT


def _is_ip(text: str) -> bool:
    from netaddr import AddrFormatError, IPAddress  # noqa: PLC0415

    try:
        IPAddress(text)
    except (AddrFormatError, ValueError, TypeError):
        return False
    return True


def _paths(reader: FieldReader, path: str, value: Any) -> tuple[Path, ...]:
    items = value if isinstance(value, list) else [value]
    found: list[Path] = []
    for i, item in enumerate(items):
        field = f"{path}[{i}]" if isinstance(value, list) else path
        file = reader.file_path(field, item)
        if file is not None:
            found.append(file)
    return tuple(found)


def _pair(reader: FieldReader, path: str, raw: Any) -> PairSpec | None:
    data = reader.mapping(path, raw, PAIR_KEYS)
    if data is None or "inventory" not in data:
        return None
    inventory = reader.file_path(join(path, "inventory"), data["inventory"])
    lists = {
        k: _paths(reader, join(path, k), data[k]) if k in data else ()
        for k in ("ruleset", "ipset", "evidence")
    }
    claim = _claim(reader, join(path, "claim"), data["claim"]) if "claim" in data else None
    if inventory is None:
        return None
    return PairSpec(
        inventory=inventory,
        line=reader.doc.line(path),
        claim=claim,
        claim_line=reader.doc.line(join(path, "claim")),
        **lists,
    )


def _claim(reader: FieldReader, path: str, value: Any) -> ClaimRequest | None:
    """`claim: IFACE` or `claim: {interface: IFACE, mode: ipvlan|macvlan, gateways: [IP]}`:
    what `audit --claim IFACE --claim-mode M --claim-gateway IP` takes, checked alike."""
    data = (
        {"interface": value} if isinstance(value, str) else reader.mapping(path, value, CLAIM_KEYS)
    )
    if data is None or "interface" not in data:
        return None
    field = path if isinstance(value, str) else join(path, "interface")
    iface = reader.text(field, data["interface"])
    if iface is not None and (why := interface_problem(iface)) is not None:
        reader.problem(field, f"{show(iface)} {why}")
        iface = None
    mode = None
    if "mode" in data:
        mode = reader.choice(join(path, "mode"), data["mode"], ClaimMode, MODES)
    gateways = []
    raw: Any = data.get("gateways", [])
    items = raw if isinstance(raw, list) else [raw]
    for i, item in enumerate(items):
        where = join(path, "gateways") + (f"[{i}]" if isinstance(raw, list) else "")
        gateway, why = parse_gateway(item) if isinstance(item, str) else (None, "")
        if gateway is None:
            reader.problem(where, f"{show(item)}: {why or 'expected an IP address'} (expected "
                           "the claimed addresses' gateway, one per address family)")  # fmt: skip
        else:
            gateways.append(gateway)
    if (why := gateways_problem(gateways)) is not None:
        reader.problem(join(path, "gateways"), why)
    if iface is None or len(gateways) != len(items) or ("mode" in data and mode is None):
        return None
    return ClaimRequest(parent=iface, mode=mode, gateways=tuple(gateways))


def _check_files(reader: FieldReader, sites: list[SiteSpec]) -> None:
    """Every file a pair names exists (read and checked in full when the run is made ready)."""
    for s, site in enumerate(sites):
        for p, pair in enumerate(site.pairs):
            base = f"sites[{s}].pairs[{p}]"
            if not pair.inventory.is_file():
                reader.problem(
                    join(base, "inventory"),
                    f"{pair.inventory}: {_missing(pair.inventory)} (expected an inventory file)",
                )
            for key in ("ruleset", "ipset", "evidence"):
                for file in getattr(pair, key):
                    if not file.is_file():
                        reader.problem(
                            join(base, key),
                            f"{file}: {_missing(file)} (expected a readable file)",
                        )


def _missing(file: Path) -> str:
    """Why a path that is not a regular file is refused: absent, or something else there."""
    return "not a regular file" if file.exists() else "not found"


def notify_secret_problems(
    spec: FleetSpec, given: Sequence[NotifyTarget], inventories: Sequence[Inventory]
) -> list[Problem]:
    """A notify URL (the fleet file's, or --notify's) whose `${VAR}` is a secret an inventory
    of the fleet reads (a bind password, a shared secret, a credential): one located problem
    each, before anything runs; that secret would be sent to the URL's host."""
    secrets: dict[str, str] = {}
    for inventory in inventories:
        for name, what in secret_variables(inventory).items():
            secrets.setdefault(name, f"{what} in {inventory.source}")
    problems = []
    for i, target in enumerate(spec.notify):
        if (why := foreign_secret(target.written, secrets, pg=False)) is not None:
            problems.append(Problem(str(spec.source), target.line, f"notify[{i}]", why))
    for i, target in enumerate(given):
        if (why := foreign_secret(target.written, secrets, pg=False)) is not None:
            problems.append(Problem("--notify", None, f"number {i + 1}", why))
    return problems


def refuse_foreign_secrets(
    labelled: Sequence[tuple[str, str]], inventories: Sequence[Inventory]
) -> None:
    """`auditor schedule`: the first notify URL (`(label, URL as written)`) whose `${VAR}` is
    a secret of one of `inventories` is a UsageError naming it (the unit's environment file
    holds both: the alert would send that secret to the URL's host)."""
    secrets: dict[str, str] = {}
    for inventory in inventories:
        for name, what in secret_variables(inventory).items():
            secrets.setdefault(name, f"{what} in {inventory.source}")
    for label, written in labelled:
        if (why := foreign_secret(written, secrets, pg=False)) is not None:
            raise UsageError(f"{label}: {why}")
