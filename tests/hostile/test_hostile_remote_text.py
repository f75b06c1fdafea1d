"""Remote text is data: what an appliance or an evidence file says (C1 controls, bidi overrides
and isolates, zero-width characters) reaches the terminal, report.md, report.html and the ticket
escaped visibly by the one sanitiser, the same in every format; a last sync time in the future
is its own warning."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hostile_http import HostileServer, http
from hostile_support import cli
from support.fake_appliance import ID_ENV, SECRET_ENV, inventory_text, make_pki
from test_hostile_secrets import evidence

from auditor.model.record import Status
from auditor.textout import UNSAFE_RE

TOKEN_OK = http("200 OK", b'{"access_token": "tok-1234567890", "token_type": "Bearer"}')
# what XML 1.0 can carry (C0 controls cannot be in a well-formed document)
HOSTILE = "a\x9b31mb\u202ec\u2066d\u200be\ufeff\u2069f"
SHOWN = "a\\x9b31mb\\u202ec\\u2066d\\u200be\\ufeff\\u2069f"
# what a JSON evidence file can carry besides
HOSTILE_JSON = HOSTILE + "\x1bPpwned\x07"
SHOWN_JSON = SHOWN + "\\x1bPpwned\\x07"


def answer(error: str, *, sync: datetime | None = None, role: str = "primary") -> bytes:
    when = sync or datetime.now(UTC) - timedelta(minutes=5)
    stamp = int(when.timestamp())
    doc = (
        f"<appliance_health><success>0</success><error_message>{error}</error_message>"
        f"<failover_role>{role}</failover_role><enabled_shared_ips><ip>198.51.100.10</ip>"
        f'</enabled_shared_ips><last_data_sync_time ts="{stamp}"/></appliance_health>'
    )
    return http("200 OK", doc.encode("utf-8"), ctype="text/xml")


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ID_ENV, "text-account")
    monkeypatch.setenv(SECRET_ENV, "text-secret-value")


def serve(pki, primary: bytes, backup: bytes):
    one = HostileServer(pki["site1"], pki["site1_key"],
                        {"/oauth2/token": TOKEN_OK, "/api/command": primary})  # fmt: skip
    two = HostileServer(pki["site2"], pki["site2_key"],
                        {"/oauth2/token": TOKEN_OK, "/api/command": backup})  # fmt: skip
    return one, two


def assert_escaped(text: str, where: str, shown: str = SHOWN) -> None:
    assert not UNSAFE_RE.search(text.replace("\n", "").replace("\t", "").replace("\r", "")), where
    assert shown in text, where


def test_hostile_remote_text_is_escaped_the_same_in_every_format(pki, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one, two = serve(pki, answer(HOSTILE), answer("ok", role="backup"))
    with one, two:
        inventory = tmp_path / "pair.yaml"
        # a provider beyond the firewall: the peer flows are on-link (no rule, no evidence in
        # the ticket), the provider's flows carry the evidence's reasons into the ticket
        text = inventory_text(one.url, two.url, pki["ca"], site="t.example.com").replace(
            "providers: []\n",
            "providers:\n  - name: ntp\n    kind: ntp\n    endpoints: [203.0.113.10]\n",
        )
        inventory.write_text(text, encoding="utf-8")
        state = cli("state", inventory, "--timeout", "5")
        results = evidence(inventory, HOSTILE_JSON, tmp_path / "results.json", Status.FILTERED)
        audit = cli("audit", inventory, "--no-resolve", "--evidence", results, "-o", "r",
                    "--no-store", "--timeout", "5")  # fmt: skip
        rules = cli("rules", inventory, "--no-resolve", "--results", results,
                    "--format", "ticket")  # fmt: skip
    assert state.code == 1 and audit.code == 1
    assert_escaped(state.out, "state")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert_escaped(html, "report.html")
    assert_escaped(html, "report.html", SHOWN_JSON)  # the evidence's reasons
    # Markdown escapes its own backslash on top: it renders as the same escapes
    markdown = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert_escaped(markdown, "report.md", SHOWN.replace("\\", "\\\\"))
    assert_escaped(markdown, "report.md", SHOWN_JSON.replace("\\", "\\\\"))
    assert_escaped(rules.out, "ticket", SHOWN_JSON.replace("\\", "\\\\"))
    doc = json.loads((tmp_path / "r" / "run.json").read_text(encoding="utf-8"))
    assert SHOWN in json.dumps(doc["live_state"], ensure_ascii=False).replace("\\\\", "\\")


def test_a_sync_time_in_the_future_is_its_own_warning(pki, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ahead = datetime.now(UTC) + timedelta(hours=3)
    one, two = serve(pki, answer("ok", sync=ahead), answer("ok", role="backup"))
    with one, two:
        inventory = tmp_path / "pair.yaml"
        inventory.write_text(inventory_text(one.url, two.url, pki["ca"], site="t.example.com"),
                             encoding="utf-8")  # fmt: skip
        text = cli("state", inventory, "--timeout", "5").out
        doc = json.loads(cli("state", inventory, "--format", "json").out)
    assert "warning [sync-in-future] site1: last data sync" in text
    assert "in the future: the appliance's clock or this host's is wrong" in text
    assert "(2 h 59 min in the future: clock skew" in text or "(3 h in the future" in text
    assert "ago" not in text.split("site1 (inventory primary)")[1].split("\n")[4]
    assert "in the future (clock skew) ago" not in text
    codes = [f["code"] for f in doc["findings"]]
    assert "sync-in-future" in codes and "sync-stale" not in codes
