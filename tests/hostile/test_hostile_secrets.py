"""Secrets never leave: every configured secret, and its encodings (the base64 of `id:secret`
of the token request's Basic header, URL encodings, the bearer token), fed back by a hostile
appliance through every field of its answers (reason phrase, error body fields, document
fields, malformed values quoted in messages) and by an evidence file through every text field
of its records, appears in no output: not on the terminal, not in report.html, report.md,
junit.xml, run.json, results.json, flows.csv, the snippets, nor in any row of the history
store."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape, quoteattr

import pytest
from hostile_http import HostileServer, http
from hostile_support import cli
from support.fake_appliance import ID_ENV, SECRET_ENV, inventory_text, make_pki
from support.model import fresh_times

from auditor.flows.prepare import prepare
from auditor.model.record import ProbeRecord, Status
from auditor.model.results import ResultsDocument, RunMeta, write_results

CLIENT_ID = "leak-account-5d1e"
CLIENT_SECRET = "Leak S3cret/+=é-77"
TOKEN = "tok-Leak-Token-0123456789"
BIND_PASSWORD = "bind Pw/Leak+9 ü"
BIND_ENV = "AUDITOR_LEAK_BIND_PASSWORD"
BASIC = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
# every form a server could echo, and every form that must not come out
FORMS = {
    "secret": CLIENT_SECRET,
    "secret url-encoded": quote(CLIENT_SECRET, safe=""),
    "secret form-encoded": quote_plus(CLIENT_SECRET, safe=""),
    "secret base64": base64.b64encode(CLIENT_SECRET.encode()).decode(),
    "basic header": f"Basic {BASIC}",
    "bearer header": f"Bearer {TOKEN}",
    "client id": CLIENT_ID,
    "bind password": BIND_PASSWORD,
    "bind password url-encoded": quote(BIND_PASSWORD, safe=""),
}
NEEDLES = [CLIENT_SECRET, quote(CLIENT_SECRET, safe=""), quote_plus(CLIENT_SECRET, safe=""),
           base64.b64encode(CLIENT_SECRET.encode()).decode(), BASIC, TOKEN, CLIENT_ID,
           BIND_PASSWORD, quote(BIND_PASSWORD, safe="")]  # fmt: skip
PROVIDER = (
    "providers:\n  - name: corp-ad\n    kind: ldaps\n    endpoints: [203.0.113.10]\n"
    "    tls_name: ad.corp.example.com\n    base_dn: dc=corp,dc=example,dc=com\n"
    "    bind:\n      dn: cn=svc,dc=corp,dc=example,dc=com\n"
    f"      password_env: {BIND_ENV}\n"
)
TOKEN_OK = http("200 OK", json.dumps({"access_token": TOKEN, "token_type": "Bearer"}).encode())


def document(text: str, *, role: str = "primary", ip: str = "198.51.100.10", ts: str = "") -> bytes:
    t = escape(text)
    stamp = f" ts={quoteattr(ts)}" if ts else ""
    return (
        f"<appliance_health><appliance id={quoteattr(text)}>{t}</appliance>"
        f"<version>{t}</version><success>0</success><error_message>{t}</error_message>"
        f"<failover_role>{escape(role)}</failover_role>"
        f"<enabled_shared_ips><ip>{escape(ip)}</ip></enabled_shared_ips>"
        f"<last_data_sync_time{stamp}>2026-11-30T00:00:00Z</last_data_sync_time>"
        f"<last_data_sync_status>{t}</last_data_sync_status></appliance_health>"
    ).encode()


def reason(status: int, text: str) -> bytes:
    return http(f"{status} {text}", b"<error>" + escape(text).encode() + b"</error>")


# (name, {path: answer}) for one form: where the appliance puts it
def places(form: str) -> dict[str, dict[str, bytes]]:
    return {
        "document fields": {"/oauth2/token": TOKEN_OK,
                            "/api/command": http("200 OK", document(form), ctype="text/xml")},
        "failover_role": {"/oauth2/token": TOKEN_OK,
                          "/api/command": http("200 OK", document("x", role=form),
                                               ctype="text/xml")},
        "shared ip": {"/oauth2/token": TOKEN_OK,
                      "/api/command": http("200 OK", document("x", ip=form), ctype="text/xml")},
        "sync ts": {"/oauth2/token": TOKEN_OK,
                    "/api/command": http("200 OK", document("x", ts=form), ctype="text/xml")},
        "command reason phrase": {"/oauth2/token": TOKEN_OK, "/api/command": reason(500, form)},
        "token reason phrase": {"/oauth2/token": reason(502, form)},
    }  # fmt: skip


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ID_ENV, CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)
    monkeypatch.setenv(BIND_ENV, BIND_PASSWORD)


def evidence(inventory: Path, form: str, out: Path, status: Status = Status.OPEN) -> Path:
    """Every flow with `status`, each record echoing `form` in its reason and detail."""
    prepared = prepare(inventory, resolve=False)
    records = tuple(
        ProbeRecord(str(f.source), str(f.destination), f.protocol.value, f.port, f.provider,
                    c.value, status, reason=f"server said {form}", origin="node",
                    detail=(("banner", form),))
        for f in prepared.flows for c in f.checks
    )  # fmt: skip
    meta = RunMeta("t", str(inventory), prepared.inventory.digest, "node",
                   *fresh_times())  # fmt: skip
    write_results(out, ResultsDocument(meta, records))
    return out


def leaks(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def store_rows(path: Path) -> str:
    with sqlite3.connect(path) as db:
        return "\n".join(db.iterdump())


PLACES = list(places("x"))
# every form through every place; the bearer token cannot be echoed before it is issued
CASES = [(form, place) for place in PLACES for form in FORMS
         if (form, place) != ("bearer header", "token reason phrase")]  # fmt: skip


@pytest.mark.parametrize(("form", "place"), CASES, ids=[f"{f}-{p}" for f, p in CASES])
def test_a_secret_echoed_anywhere_reaches_no_output(pki, tmp_path, monkeypatch, form,
                                                    place):  # fmt: skip
    monkeypatch.chdir(tmp_path)
    answers = places(FORMS[form])[place]
    with HostileServer(pki["site1"], pki["site1_key"], answers) as one, \
         HostileServer(pki["site2"], pki["site2_key"], answers) as two:  # fmt: skip
        text = inventory_text(one.url, two.url, pki["ca"], site="leak.example.com")
        inventory = tmp_path / "pair.yaml"
        inventory.write_text(text.replace("providers: []\n", PROVIDER), encoding="utf-8")
        shown = []
        for fmt in ("text", "json") if place == PLACES[0] else ("text",):
            result = cli("state", inventory, "--format", fmt, "--timeout", "5")
            assert result.code in (1, 2), result
            shown.append(result.out + result.err)
        # the token exists only once the appliance has been asked: no earlier file holds it
        echoed = FORMS[form] if form != "bearer header" else FORMS["basic header"]
        results = evidence(inventory, echoed, tmp_path / "results.json")
        result = cli("audit", inventory, "--no-resolve", "--evidence", results,
                     "-o", "report", "--store", "h.sqlite", "--timeout", "5")  # fmt: skip
        assert result.code == 1, result
        shown.append(result.out + result.err)
        if place == PLACES[0]:  # the snippets and the ticket read the evidence alone
            result = cli("rules", inventory, "--no-resolve", "--results", results,
                         "--format", "all", "-o", "rules")  # fmt: skip
            assert result.code == 0, result
            shown.append(result.out + result.err)
    # the secret was fed back: the evidence file holds it
    records = json.loads(results.read_text(encoding="utf-8"))["records"]
    assert all(echoed in r["reason"] for r in records)
    assert not leaks("\n".join(shown)), "\n".join(shown)
    written = sorted(p for p in (tmp_path / "report").rglob("*") if p.is_file())
    assert {p.name for p in written} >= {"report.html", "report.md", "junit.xml", "run.json"}
    for path in [*written, *(tmp_path / "rules").rglob("*")]:
        if path.is_file():
            assert not leaks(path.read_text(encoding="utf-8")), path
    assert not leaks(store_rows(tmp_path / "h.sqlite"))
    run = json.loads((tmp_path / "report" / "run.json").read_text(encoding="utf-8"))
    assert "[redacted]" in json.dumps(run)


# ---- a server's banner, through the probe engine ------------------------------------------


def test_a_server_banner_echoing_a_secret_is_redacted_as_the_record_enters(tmp_path):
    """A real SMTP-speaking listener on loopback greets with the bind password, its URL form
    and the Basic header; the engine's record carries none of them."""
    import socket
    import threading

    from probe_support import flow

    from auditor.inventory.secrets import Secret
    from auditor.model.inventory import Check, Provider
    from auditor.probe.engine import ProbeOptions, probe_flows
    from auditor.redact import redacting

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    greeting = f"554 go away {BIND_PASSWORD} {quote(BIND_PASSWORD, safe='')} Basic {BASIC}\r\n"

    def serve() -> None:
        listener.settimeout(10)
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.sendall(greeting.encode("utf-8"))
            conn.recv(100)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    provider = Provider(name="mail", kind="smtp", endpoints=("127.0.0.1",))
    smtp = flow("127.0.0.1", "127.0.0.1", port, checks=(Check.SMTP,), provider="mail",
                kind="smtp")  # fmt: skip
    with redacting():
        secrets = {"mail": Secret(BIND_PASSWORD), "api": Secret(CLIENT_SECRET)}
        Secret(CLIENT_ID)
        from auditor.redact import register_pair

        register_pair(CLIENT_ID, CLIENT_SECRET)
        (record,) = probe_flows([smtp], [provider], secrets, ProbeOptions(timeout=5))
    listener.close()
    thread.join(timeout=10)
    shown = record.reason + json.dumps(dict(record.detail))
    assert "go away" in shown and "[redacted]" in shown, shown
    assert not leaks(shown), shown
