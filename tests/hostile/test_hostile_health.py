"""Hostile `health:`, `radius:`, `kerberos:` and `dns:` blocks in the inventory (one located line
each, no secret echoed), and a hostile or broken appliance API on 127.0.0.1 (a one-line failure
naming what answered, never an exception, a leaked credential or a raw control character)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_http import TOKEN_OK, HostileServer, http
from hostile_support import RAW_CONTROLS, assert_refused, cli, line_of, mutate
from support.fake_appliance import make_pki

from auditor.health.client import AskFailure, FailureReason, HealthClient
from auditor.health.credentials import Credentials
from auditor.inventory.secrets import Secret
from auditor.model.inventory import HealthSpec

SECRET = "hunter2-Pasted-Secret"
RADIUS = "  - name: corp-radius\n    kind: radius\n    endpoints: [203.0.113.20]\n"
KDC = "  - name: kdc\n    kind: kerberos\n    endpoints: [203.0.113.40]\n    kerberos:\n"
DNS = "  - name: ns\n    kind: dns\n    endpoints: [203.0.113.50]\n    dns:\n"
HEALTH = (
    "    health:\n      url: https://site1.example.com\n      tls_name: site1.example.com\n"
    "      client_id_env: AUDITOR_HEALTH_CLIENT_ID\n"
    "      client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n"
)
PRIMARY = "        enabled: true\n"


def radius(block: str) -> str:
    return mutate(RADIUS, RADIUS + "    radius:\n" + block)


def provider(head: str, block: str) -> str:
    return mutate(RADIUS, RADIUS + head + block)


def health(old: str, new: str) -> str:
    return mutate(PRIMARY, PRIMARY + HEALTH.replace(old, new, 1))


# (name, inventory text, the text on the refused line)
INVENTORY_CASES = [
    ("radius secret inline", radius(f"      secret: {SECRET}\n"), "secret:"),
    ("radius secret_env empty", radius("      secret_env:\n"), "radius:"),
    ("radius secret_file empty", radius("      secret_file:\n"), "radius:"),
    ("radius no secret at all", radius("      user: probe\n"), "radius:"),
    ("radius secret_env with a newline", radius('      secret_env: "RADIUS_SECRET\\n"\n'),
     "secret_env:"),
    ("radius secret_env a number", radius("      secret_env: 5\n"), "secret_env:"),
    ("radius secret_env the secret itself", radius(f"      secret_env: '{SECRET}!'\n"),
     "secret_env:"),
    ("radius user with a newline", radius('      secret_env: RS\n      user: "bob\\n"\n'), "user:"),
    ("radius user with an escape", radius('      secret_env: RS\n      user: "bob\\e[31m"\n'),
     "user:"),
    ("radius secret_file of an unknown user's home", radius('      secret_file: "~nosuch/x"\n'),
     "secret_file:"),
    ("radius block a string", mutate(RADIUS, RADIUS + f"    radius: {SECRET}\n"), "radius:"),
    ("kerberos principal with a newline",
     provider(KDC, '      realm: CORP\n      principal: "p\\n"\n'), "principal:"),
    ("kerberos realm with a newline", provider(KDC, '      realm: "CORP\\n"\n      principal: p\n'),
     "realm:"),
    ("kerberos principal with BEL", provider(KDC, '      realm: CORP\n      principal: "p\\a"\n'),
     "principal:"),
    ("kerberos principal 5,000 long", provider(KDC, "      realm: CORP\n      principal: "
                                               + "p" * 5000 + "\n"), "principal:"),
    ("kerberos principal a mapping", provider(KDC, "      realm: CORP\n      principal: {a: 1}\n"),
     "principal:"),
    ("dns name with a newline", provider(DNS, '      query_name: "a.example.com\\n"\n'),
     "query_name:"),
    ("dns name an address in disguise", provider(DNS, "      query_name: 0x7f.1\n"), "query_name:"),
    ("dns type a list", provider(DNS, "      query_name: a.example.com\n      query_type: [A]\n"),
     "query_type:"),
    ("provider port 10**20", mutate(RADIUS, RADIUS + "    ports: [100000000000000000000]\n"),
     "ports:"),
    ("provider port negative", mutate(RADIUS, RADIUS + "    ports: [-1812]\n"), "ports:"),
    ("health client secret inline", health("client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET",
                                           f"client_secret: {SECRET}"), "client_secret:"),
    ("health password inline", health("      client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n",
                                      f"      password: {SECRET}\n"), "password:"),
    ("health no secret source", health("      client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n",
                                       ""), "health:"),
    ("health secret env and file",
     health("client_secret_env: AUDITOR_HEALTH_CLIENT_SECRET\n",
            "client_secret_env: A\n      client_secret_file: /x\n"), "health:"),
    ("health url with a space in the host", health("https://site1.example.com",
                                                   '"https://site1 example.com"'), "url:"),
    ("health url 0.0.0.0", health("https://site1.example.com", "https://0.0.0.0"), "url:"),
    ("health url multicast", health("https://site1.example.com", "https://224.0.0.1"), "url:"),
    ("health url with user info", health("https://site1.example.com",
                                         f"https://admin:{SECRET}@site1.example.com"), "url:"),
    ("health url port 99999", health("https://site1.example.com",
                                     "https://site1.example.com:99999"), "url:"),
    ("health url plain http", health("https://site1.example.com", "http://site1.example.com"),
     "url:"),
    ("health url a number", health("https://site1.example.com", "443"), "url:"),
    ("health url with an escape", health("https://site1.example.com",
                                         '"https://site1.example.com\\e[2J"'), "url:"),
    ("health tls_name with a newline", health("tls_name: site1.example.com",
                                              'tls_name: "site1.example.com\\n"'), "tls_name:"),
    ("health timeout key", health("tls_name: site1.example.com",
                                  "tls_name: site1.example.com\n      timeout: 99999999999"),
     "timeout:"),
    ("health block a list", mutate(PRIMARY, PRIMARY + "    health: [https://x]\n"), "health:"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "where"), INVENTORY_CASES,
                         ids=[c[0] for c in INVENTORY_CASES])  # fmt: skip
def test_hostile_provider_and_health_blocks_are_one_located_line(
    name: str, text: str, where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pair.yaml").write_text(text, encoding="utf-8")
    result = cli("check", "pair.yaml")
    start = text.find(RADIUS if "radius" in name or "dns" in name or "kerberos" in name
                      or "provider" in name else PRIMARY)  # fmt: skip
    line = text[:start].count("\n") + line_of(text[start:], where)
    assert_refused(result, ("pair.yaml", line))
    assert SECRET not in result.out + result.err
    assert list(tmp_path.iterdir()) == [tmp_path / "pair.yaml"]


# ---- the appliance API, hostile -----------------------------------------------------------

CLIENT_ID, CLIENT_SECRET = "client-id-7f3e", "client-Secret-9d2c"
GOOD = (
    b"<appliance_health><success>1</success><failover_role>primary</failover_role>"
    b"</appliance_health>"
)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _slowloris(tls, stopping: threading.Event) -> None:
    tls.sendall(b"HTTP/1.1 200 OK\r\n")
    while not stopping.wait(0.05):
        tls.sendall(b"X-Slow: 1\r\n")  # each read beats the timeout; the whole never ends


def _token(body: bytes) -> bytes:
    return http("200 OK", body)


API_CASES = [
    ("token not latin-1",
     {"/oauth2/token": _token('{"access_token": "t\u20ac", "token_type": "Bearer"}'.encode())},
     FailureReason.MALFORMED),
    ("token with NUL", {"/oauth2/token": _token(b'{"access_token": "a\\u0000b", "token_type": '
                                                 b'"Bearer"}')}, FailureReason.MALFORMED),
    ("token with a header break", {"/oauth2/token": _token(
        b'{"access_token": "a\\r\\nX-Evil: 1", "token_type": "Bearer"}')}, FailureReason.MALFORMED),
    ("token lifetime NaN", {"/oauth2/token": _token(
        b'{"access_token": "abc", "token_type": "Bearer", "expires_in": NaN}')},
     FailureReason.MALFORMED),
    ("token lifetime infinite", {"/oauth2/token": _token(
        b'{"access_token": "abc", "token_type": "Bearer", "expires_in": 1e999}')},
     FailureReason.MALFORMED),
    ("token answer 100,000 deep", {"/oauth2/token": _token(b"[" * 8000 + b"]" * 8000)},
     FailureReason.MALFORMED),
    ("token redirected to another host", {"/oauth2/token": http(
        "302 Found", b"", "Location: https://evil.example.net/oauth2/token")}, FailureReason.HTTP),
    ("command redirected to another host", {"/oauth2/token": TOKEN_OK, "/api/command": http(
        "301 Moved Permanently", b"", "Location: https://203.0.113.66/api/command")},
     FailureReason.HTTP),
    ("status reason with escapes", {"/oauth2/token": TOKEN_OK, "/api/command":
                                    b"HTTP/1.1 500 \x1b]0;pwn\x07\r\nContent-Length: 0\r\n\r\n"},
     FailureReason.HTTP),
    ("200 headers", {"/oauth2/token": TOKEN_OK, "/api/command": b"HTTP/1.1 200 OK\r\n"
                     + b"X-A: b\r\n" * 200 + b"\r\n"}, FailureReason.MALFORMED),
    ("a 100 KB header line", {"/oauth2/token": TOKEN_OK, "/api/command": b"HTTP/1.1 200 OK\r\nX: "
                              + b"a" * 100_000 + b"\r\n\r\n"}, FailureReason.MALFORMED),
    ("not HTTP at all", {"/oauth2/token": b"SSH-2.0-OpenSSH_9.2\r\n\r\n"}, FailureReason.MALFORMED),
    ("a 10 MB body", {"/oauth2/token": TOKEN_OK, "/api/command": http("200 OK", b"<a>" + b"x" *
                                                                       10_000_000 + b"</a>")},
     FailureReason.MALFORMED),
    ("JSON where XML is due", {"/oauth2/token": TOKEN_OK, "/api/command": http(
        "200 OK", b'{"success": 1, "failover_role": "primary"}')}, FailureReason.MALFORMED),
    ("a wrong role", {"/oauth2/token": TOKEN_OK, "/api/command": http(
        "200 OK", GOOD.replace(b"primary", b"\x1b[31mboss"), ctype="text/xml")},
     FailureReason.MALFORMED),
    ("a broken chunked body", {"/oauth2/token": TOKEN_OK, "/api/command":
                               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
     FailureReason.MALFORMED),
    ("a body shorter than said", {"/oauth2/token": TOKEN_OK, "/api/command":
                                  b"HTTP/1.1 200 OK\r\nContent-Length: 99999\r\n\r\n<a/>"},
     FailureReason.MALFORMED),
    ("slow-loris headers", {"/oauth2/token": _slowloris}, FailureReason.TIMEOUT),
]  # fmt: skip


@pytest.fixture
def server(request: pytest.FixtureRequest, pki: dict[str, Path]) -> Iterator[HostileServer]:
    with HostileServer(pki["site1"], pki["site1_key"], request.param) as srv:
        yield srv


@pytest.mark.parametrize(
    ("server", "reason"), [(c[1], c[2]) for c in API_CASES], ids=[c[0] for c in API_CASES],
    indirect=["server"],
)  # fmt: skip
def test_a_hostile_appliance_api_is_a_one_line_failure(
    server: HostileServer, reason: FailureReason, pki: dict[str, Path]
) -> None:
    spec = HealthSpec(url=server.url, ca_file=pki["ca"], tls_name="site1.example.com")
    client = HealthClient(spec, Credentials(Secret(CLIENT_ID), Secret(CLIENT_SECRET)), timeout=1.0)
    answer = client.check_health()
    assert isinstance(answer, AskFailure), answer
    assert answer.reason is reason, answer
    assert "\n" not in answer.message and not RAW_CONTROLS.search(answer.message)
    assert CLIENT_SECRET not in answer.message and CLIENT_ID not in answer.message
    assert "tok-1234567890" not in answer.message  # the token is a credential too
    assert len(answer.message) < 300
    # Never followed: every request went to the server under test, none to the redirect target.
    assert all(b"evil" not in r and b"203.0.113.66" not in r for r in server.requests)
