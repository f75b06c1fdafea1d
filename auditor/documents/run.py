"""A finished audit run as a JSON document and back: what the history store keeps and what
`auditor drift --baseline FILE` reads. No secret is ever in it: a bind spec names where the
password comes from (an environment variable or a file), never the password."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from netaddr import IPAddress, IPNetwork

from auditor.documents.jsoncheck import (
    CHECKS,
    PROTOCOLS,
    JsonChecker,
    address_or_hostname,
    an_object,
    boolean,
    check_record,
    choices,
    hostname,
    integer,
    ip_address,
    ip_interface,
    one_of,
    shown,
)
from auditor.documents.jsoncheck import name as a_name
from auditor.documents.jsonsource import load_json
from auditor.errors import InputError, Problem
from auditor.evidence.allowlist import AllowListFinding
from auditor.evidence.record import ProbeRecord
from auditor.findings import AuditRun, LintLike, StoredLintFinding
from auditor.flows import export as flow_export
from auditor.inventory.model import (
    Address,
    Appliance,
    BindSpec,
    Check,
    Failover,
    FailoverState,
    Flow,
    Inventory,
    Pair,
    PortOverride,
    Protocol,
    Provider,
    Role,
    Side,
    Site,
)
from auditor.inventory.yamlsource import join
from auditor.verdict import Verdict

FORMAT = "auditor-run"
VERSION = 1
SIDES = tuple(s.value for s in Side)
ROLES = tuple(r.value for r in Role)
STATES = tuple(s.value for s in FailoverState)
VERDICTS = tuple(v.value for v in Verdict)


def _appliance(a: Appliance) -> dict[str, Any]:
    return {
        "name": a.name,
        "side": a.side.value,
        "hostname": a.hostname,
        "addresses": [
            {"interface": str(x.interface), "role": x.role.value, "enabled": x.enabled}
            for x in a.addresses
        ],
    }


def _provider(p: Provider) -> dict[str, Any]:
    return {
        "name": p.name,
        "kind": p.kind,
        "endpoints": list(p.endpoints),
        "ports": None
        if p.ports is None
        else [
            {"port": o.port, "protocol": None if o.protocol is None else o.protocol.value}
            for o in p.ports
        ],
        "tls_name": p.tls_name,
        "base_dn": p.base_dn,
        "bind": None
        if p.bind is None
        else {
            "dn": p.bind.dn,
            "password_env": p.bind.password_env,
            "password_file": None if p.bind.password_file is None else str(p.bind.password_file),
        },
        "ca_file": None if p.ca_file is None else str(p.ca_file),
        "starttls": p.starttls,
        "description": p.description,
    }


def inventory_to_json(inv: Inventory) -> dict[str, Any]:
    f = inv.pair.failover
    return {
        "source": str(inv.source),
        "digest": inv.digest,
        "site": {"name": inv.site.name, "description": inv.site.description},
        "pair": {
            "primary": _appliance(inv.pair.primary),
            "backup": _appliance(inv.pair.backup),
            "failover": {
                "site_instance_ip": None if f.site_instance_ip is None else str(f.site_instance_ip),
                "peer_port": f.peer_port,
            },
        },
        "providers": [_provider(p) for p in inv.providers],
    }


def _appliance_from(doc: dict[str, Any]) -> Appliance:
    return Appliance(
        name=str(doc["name"]),
        side=Side(doc["side"]),
        hostname=doc.get("hostname"),
        addresses=tuple(
            Address(
                interface=IPNetwork(a["interface"]),
                role=Role(a["role"]),
                enabled=bool(a["enabled"]),
            )
            for a in doc["addresses"]
        ),
    )


def _provider_from(doc: dict[str, Any]) -> Provider:
    bind = doc.get("bind")
    ports = doc.get("ports")
    return Provider(
        name=str(doc["name"]),
        kind=str(doc["kind"]),
        endpoints=tuple(str(e) for e in doc["endpoints"]),
        ports=None
        if ports is None
        else tuple(
            PortOverride(
                port=int(o["port"]),
                protocol=None if o.get("protocol") is None else Protocol(o["protocol"]),
            )
            for o in ports
        ),
        tls_name=doc.get("tls_name"),
        base_dn=doc.get("base_dn"),
        bind=None
        if bind is None
        else BindSpec(
            dn=str(bind["dn"]),
            password_env=bind.get("password_env"),
            password_file=None
            if bind.get("password_file") is None
            else Path(bind["password_file"]),
        ),
        ca_file=None if doc.get("ca_file") is None else Path(doc["ca_file"]),
        starttls=bool(doc.get("starttls", False)),
        description=doc.get("description"),
    )


def inventory_from_json(doc: dict[str, Any]) -> Inventory:
    pair = doc["pair"]
    f = pair.get("failover") or {}
    sip = f.get("site_instance_ip")
    return Inventory(
        source=Path(doc["source"]),
        digest=str(doc["digest"]),
        site=Site(name=str(doc["site"]["name"]), description=doc["site"].get("description")),
        pair=Pair(
            primary=_appliance_from(pair["primary"]),
            backup=_appliance_from(pair["backup"]),
            failover=Failover(
                site_instance_ip=None if sip is None else IPAddress(sip),
                peer_port=int(f.get("peer_port", 443)),
            ),
        ),
        providers=tuple(_provider_from(p) for p in doc["providers"]),
    )


def flow_to_json(flow: Flow) -> dict[str, Any]:
    """The flow as `auditor flows --format json` gives it, plus whether the destination is an
    address (a hostname kept with --no-resolve is not)."""
    return {
        **flow_export.flow_to_json(flow),
        "destination_is_ip": isinstance(flow.destination, IPAddress),
    }


def flow_from_json(doc: dict[str, Any]) -> Flow:
    dest = str(doc["destination"])
    return Flow(
        source=IPAddress(doc["source"]),
        destination=IPAddress(dest) if doc.get("destination_is_ip", True) else dest,
        protocol=Protocol(doc["protocol"]),
        port=int(doc["port"]),
        providers=tuple(str(p) for p in doc["providers"]),
        kind=str(doc["kind"]),
        checks=tuple(Check(c) for c in doc["checks"]),
        appliances=frozenset(str(a) for a in doc["appliances"]),
        states=frozenset(FailoverState(s) for s in doc["states"]),
        source_role=Role(doc["source_role"]),
        endpoint=str(doc["endpoint"]),
    )


def lint_to_json(f: LintLike) -> dict[str, Any]:
    return {
        "rule": str(f.rule),
        "severity": str(f.severity),
        "field": str(f.field),
        "line": f.line,
        "message": str(f.message),
        "hint": str(f.hint or ""),
    }


def lint_from_json(doc: dict[str, Any]) -> StoredLintFinding:
    line = doc.get("line")
    return StoredLintFinding(
        rule=str(doc["rule"]),
        severity=str(doc["severity"]),
        field=str(doc.get("field", "")),
        line=None if line is None else int(line),
        message=str(doc["message"]),
        hint=str(doc.get("hint") or ""),
    )


def run_to_json(run: AuditRun, *, with_records: bool = True) -> dict[str, Any]:
    """The run as plain JSON data (keys sorted on dump for stable files)."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "run_id": run.run_id,
        "site": run.site,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "inventory_digest": run.inventory_digest,
        "verdict": run.verdict.value,
        "inventory": inventory_to_json(run.inventory),
        "flows": [flow_to_json(f) for f in run.flows],
        "lint": [lint_to_json(f) for f in run.lint],
        "snippets": dict(sorted(run.snippets.items())),
    }
    if run.live_state is not None:
        doc["live_state"] = dict(run.live_state)
    if run.allowlist:
        doc["allowlist"] = [f.to_json() for f in run.allowlist]
    if with_records:
        doc["records"] = [r.to_json() for r in run.records]
    return doc


def run_from_json(doc: dict[str, Any], records: tuple[ProbeRecord, ...] | None = None) -> AuditRun:
    """Rebuild a run; `records` replaces the document's own (the store keeps them apart)."""
    if records is None:
        records = tuple(ProbeRecord.from_json(r) for r in doc.get("records", ()))
    return AuditRun(
        run_id=str(doc["run_id"]),
        site=str(doc["site"]),
        started_at=str(doc["started_at"]),
        finished_at=str(doc["finished_at"]),
        inventory_digest=str(doc["inventory_digest"]),
        inventory=inventory_from_json(doc["inventory"]),
        flows=tuple(flow_from_json(f) for f in doc["flows"]),
        records=records,
        verdict=Verdict(doc["verdict"]),
        lint=tuple(lint_from_json(f) for f in doc.get("lint", ())),
        snippets={str(k): str(v) for k, v in (doc.get("snippets") or {}).items()},
        live_state=doc.get("live_state"),
        allowlist=tuple(AllowListFinding.from_json(f) for f in doc.get("allowlist") or ()),
    )


def dumps(run: AuditRun) -> str:
    return json.dumps(run_to_json(run), indent=2, sort_keys=True) + "\n"


def _check_appliance(c: JsonChecker, doc: Any, path: str) -> None:
    if c.mapping(doc, path, "an object: an appliance") is None:
        return
    c.field(doc, "name", path, a_name, "a name")
    c.field(doc, "side", path, one_of(SIDES), choices(SIDES))
    c.string(doc, "hostname", path, optional=True)
    for where, address in c.items(doc, "addresses", path, "a list of addresses"):
        if c.mapping(address, where, "an object: an address") is None:
            continue
        c.field(address, "interface", where, ip_interface, "an address with its prefix, a.b.c.d/n")
        c.field(address, "role", where, one_of(ROLES), choices(ROLES))
        c.field(address, "enabled", where, boolean, "true or false")


def _check_provider(c: JsonChecker, doc: Any, path: str) -> None:
    if c.mapping(doc, path, "an object: a provider") is None:
        return
    c.field(doc, "name", path, a_name, "a name")
    c.field(doc, "kind", path, a_name, "a kind name")
    c.strings(doc, "endpoints", path, address_or_hostname, "an IP address or a hostname")
    for where, port in c.items(doc, "ports", path, "a list of ports or null", optional=True):
        if c.mapping(port, where, "an object: a port") is not None:
            c.field(port, "port", where, integer(1, 65535), "a port number 1-65535")
            c.field(port, "protocol", where, one_of(PROTOCOLS), choices(PROTOCOLS), optional=True)
    for key in ("tls_name", "base_dn", "ca_file", "description"):
        c.string(doc, key, path, optional=True)
    c.field(doc, "starttls", path, boolean, "true or false", optional=True)
    bind = c.field(doc, "bind", path, an_object, "an object or null", optional=True)
    if bind is not None:
        c.string(bind, "dn", join(path, "bind"))
        for key in ("password_env", "password_file"):
            c.string(bind, key, join(path, "bind"), optional=True)


def _check_inventory(c: JsonChecker, doc: dict[str, Any]) -> None:
    inv = c.field(doc, "inventory", "", an_object, "an object: the audited inventory")
    if inv is None:
        return
    c.string(inv, "source", "inventory")
    c.string(inv, "digest", "inventory")
    site = c.field(inv, "site", "inventory", an_object, "an object with the site's name")
    if site is not None:
        c.field(site, "name", "inventory.site", a_name, "a site name")
        c.string(site, "description", "inventory.site", optional=True)
    pair = c.field(inv, "pair", "inventory", an_object, "an object: the appliance pair")
    if pair is None:
        return
    for side in SIDES:
        if side not in pair:
            c.add(f"inventory.pair.{side}", "missing (expected an object: an appliance)")
        else:
            _check_appliance(c, pair[side], f"inventory.pair.{side}")
    failover = c.field(pair, "failover", "inventory.pair", an_object, "an object", optional=True)
    if failover is not None:
        where = "inventory.pair.failover"
        c.field(failover, "site_instance_ip", where, ip_address, "an IP address", optional=True)
        c.field(failover, "peer_port", where, integer(1, 65535), "a port 1-65535", optional=True)
    for where, provider in c.items(inv, "providers", "inventory", "a list of providers"):
        _check_provider(c, provider, where)


def _check_flow(c: JsonChecker, doc: Any, where: str) -> None:
    if c.mapping(doc, where, "an object: a flow") is None:
        return
    c.field(doc, "source", where, ip_address, "an IP address")
    by_address = c.field(doc, "destination_is_ip", where, boolean, "true or false", optional=True)
    if by_address is False:
        c.field(doc, "destination", where, hostname, "a hostname")
    else:
        c.field(doc, "destination", where, ip_address, "an IP address")
    c.field(doc, "protocol", where, one_of(PROTOCOLS), choices(PROTOCOLS))
    c.field(doc, "port", where, integer(1, 65535), "a port number 1-65535")
    c.strings(doc, "providers", where)
    c.string(doc, "kind", where)
    c.strings(doc, "checks", where, one_of(CHECKS), choices(CHECKS))
    c.strings(doc, "appliances", where)
    c.strings(doc, "states", where, one_of(STATES), choices(STATES))
    c.field(doc, "source_role", where, one_of(ROLES), choices(ROLES))
    c.string(doc, "endpoint", where)


def _check_lint(c: JsonChecker, doc: Any, where: str) -> None:
    if c.mapping(doc, where, "an object: a lint finding") is None:
        return
    for key in ("rule", "severity", "message"):
        c.string(doc, key, where)
    for key in ("field", "hint"):
        c.string(doc, key, where, optional=True)
    c.field(doc, "line", where, integer(1, 10**9), "a line number or null", optional=True)


def check_run_document(c: JsonChecker, doc: dict[str, Any]) -> None:
    """Record a located problem for everything `run_from_json` could trip over."""
    c.field(doc, "site", "", a_name, "a site name")
    for key in ("run_id", "started_at", "finished_at", "inventory_digest"):
        c.string(doc, key, "")
    c.field(doc, "verdict", "", one_of(VERDICTS), choices(VERDICTS))
    _check_inventory(c, doc)
    for where, flow in c.items(doc, "flows", "", "a list of flows"):
        _check_flow(c, flow, where)
    for where, finding in c.items(doc, "lint", "", "a list of lint findings", optional=True):
        _check_lint(c, finding, where)
    snippets = c.field(
        doc, "snippets", "", an_object, "an object: file name to text", optional=True
    )
    for name, text in (snippets or {}).items():
        if not isinstance(text, str):
            c.add(join("snippets", name), f"is {shown(text)} (expected a string)")
    for where, record in c.items(doc, "records", "", "a list of probe records", optional=True):
        check_record(c, record, where)
    _check_live_state(c, doc)
    for where, finding in c.items(doc, "allowlist", "", "a list of findings", optional=True):
        _check_allowlist(c, finding, where)


def _check_allowlist(c: JsonChecker, doc: Any, where: str) -> None:
    """An application allow-list finding (auditor.evidence.allowlist)."""
    if c.mapping(doc, where, "an object: a finding") is None:
        return
    for key in ("provider", "destination", "protocol", "check", "evidence"):
        c.string(doc, key, where)
    c.field(doc, "port", where, integer(0, 65535), "a port number")
    for key in ("answered", "ignored"):
        c.strings(doc, key, where, ip_address, "an IP address")


def _check_live_state(c: JsonChecker, doc: dict[str, Any]) -> None:
    """The live state is shown and compared, never interpreted further: its verdict status and
    its findings' severity and message must be text."""
    state = c.field(doc, "live_state", "", an_object, "an object: the pair's state", optional=True)
    if state is None:
        return
    verdict = c.field(state, "verdict", "live_state", an_object, "an object")
    if verdict is not None:
        c.string(verdict, "status", "live_state.verdict")
    for where, finding in c.items(state, "findings", "live_state", "a list of findings"):
        if c.mapping(finding, where, "an object: a finding") is not None:
            for key in ("code", "severity", "message"):
                c.string(finding, key, where)


MAX_BYTES = 64 * 1024 * 1024


def read_run_file(path: Path) -> AuditRun:
    """A run document written by `dumps` (for example `run.json` in a report folder), checked
    field by field: InputError with one located line per problem."""
    doc, source = load_json(path, str(path), MAX_BYTES, "an audit run document")
    return run_from_document(doc, source, str(path))


def is_run_document(doc: Any) -> bool:
    return isinstance(doc, dict) and doc.get("format") == FORMAT


def run_from_document(doc: Any, source: str, display: str) -> AuditRun:
    """A parsed run document, checked field by field (`source` is its text, for lines)."""
    if not is_run_document(doc):
        raise InputError(
            [
                Problem(
                    display,
                    None,
                    "format",
                    f"not an audit run document (expected format: {FORMAT})",
                )
            ]
        )
    checker = JsonChecker(display, source)
    check_run_document(checker, doc)
    if checker.problems:
        raise InputError(checker.in_file_order())
    try:
        return run_from_json(doc)
    except (KeyError, TypeError, ValueError) as exc:
        # the checks above should leave nothing for this; kept so a gap is still exit 2
        raise InputError([Problem(display, None, "", f"malformed run document: {exc!r}")]) from exc
