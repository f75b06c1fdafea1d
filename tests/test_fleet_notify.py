"""Alerts of a fleet run through Apprise, received by a real SMTP server (aiosmtpd) and a
webhook receiver (http.server), both on loopback: one message per run when a pair gets worse
or drift that matters appears, naming the pairs, flows and reports; a night that could not
judge a pair is a failure, not a warning; a failed notification is a warning; the secret in a
notify URL comes from the environment and is never printed."""

from __future__ import annotations

import base64
import email
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import report_factories as rf
from aiosmtpd.controller import Controller
from fleet_support import PAIR, next_second, results_for
from support.cli import Result, auditor

SECRET = "hook-token-5f3a9c"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        texts = [
            part.get_payload(decode=True).decode("utf-8", "replace")
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        ]
        self.messages.append(f"Subject: {message['Subject']}\n" + "\n".join(texts))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[list[dict[str, Any]], int]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append({"auth": self.headers.get("Authorization", ""),
                             "path": self.path, "json": json.loads(body)})  # fmt: skip
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def setup_fleet(tmp_path: Path, smtp_port: int, hook_port: int) -> Path:
    inv = tmp_path / "a.yaml"
    inv.write_text(PAIR.read_text().replace("name: support.example.com", "name: alpha.example.com"))
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text(
        "notify:\n"
        f"  - mailto://127.0.0.1:{smtp_port}?mode=insecure&from=auditor@example.com"
        "&to=oncall@example.com\n"
        "sites:\n  - name: east\n    pairs:\n      - inventory: a.yaml\n        evidence: a.json\n"
    )
    return fleet


def night(tmp_path: Path, fleet: Path, n: int, outcome: Any, *extra: str) -> Result:
    next_second()
    results_for(tmp_path / "a.yaml", tmp_path / "a.json", outcome)
    return auditor("fleet", "run", fleet, "-o", tmp_path / f"night{n}", "--store",
                   tmp_path / "h.sqlite", "-q", *extra)  # fmt: skip


def test_one_message_when_a_pair_gets_worse(tmp_path, smtp, webhook, monkeypatch):
    box, smtp_port = smtp
    hooks, hook_port = webhook
    monkeypatch.setenv("HOOK_TOKEN", SECRET)
    fleet = setup_fleet(tmp_path, smtp_port, hook_port)
    hook = f"json://auditor:${{HOOK_TOKEN}}@127.0.0.1:{hook_port}/alerts"
    first = night(tmp_path, fleet, 0, rf.everywhere_good, "--notify", hook)
    assert first.returncode == 0
    assert box.messages == [] and hooks == []  # a green first night says nothing
    second = night(tmp_path, fleet, 1, rf.classic_gap, "--notify", hook)
    assert second.returncode == 1
    assert len(box.messages) == 1 and len(hooks) == 1
    mail = box.messages[0]
    assert "east/alpha.example.com: compliant -> findings" in mail
    assert "drift: newly-blocked" in mail
    assert "flow: 198.51.100.11 -> " in mail and "blocked" in mail
    assert str(tmp_path / "night1" / "east" / "alpha.example.com" / "report.html") in mail
    payload = hooks[0]["json"]
    assert payload["type"] == "warning" and "got worse" in payload["title"]
    assert hooks[0]["path"] == "/alerts"
    assert base64.b64decode(hooks[0]["auth"].split()[1]).decode() == f"auditor:{SECRET}"
    assert SECRET not in first.stdout + first.stderr + second.stdout + second.stderr
    # the same state again: nothing got worse, no drift against the last green... still drift
    # that matters (the baseline is the last compliant run), so one message each night
    assert night(tmp_path, fleet, 2, rf.classic_gap, "--notify-on", "drift").returncode == 1
    assert len(box.messages) == 2
    # findings (the default) are told every night they persist
    assert night(tmp_path, fleet, 3, rf.classic_gap).returncode == 1
    assert len(box.messages) == 3 and "findings -> findings" in box.messages[2]


def test_a_night_that_could_not_judge_is_a_failure(tmp_path, webhook, monkeypatch):
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "unused: nothing is local")
    hooks, hook_port = webhook
    inv = tmp_path / "p.yaml"
    inv.write_text(PAIR.read_text())
    fleet = tmp_path / "fleet.yaml"
    fleet.write_text("sites:\n  - name: here\n    pairs:\n      - inventory: p.yaml\n")
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "o", "--store",
                     tmp_path / "h.sqlite", "-q", "--timeout", "0.2",
                     "--notify", f"json://127.0.0.1:{hook_port}/")  # fmt: skip
    assert result.returncode == 3
    assert len(hooks) == 1
    assert hooks[0]["json"]["type"] == "failure"
    assert "could not judge" in hooks[0]["json"]["title"]
    # the message says why the pair could not be judged, not only that it could not
    body = hooks[0]["json"]["message"]
    assert "here/support.example.com: new -> incomplete" in body
    assert "\n  why: " in body


def test_a_failed_notification_is_a_warning_and_the_run_stands(tmp_path) -> None:
    fleet = setup_fleet(tmp_path, free_port(), free_port())  # nobody listens there
    result = night(tmp_path, fleet, 0, rf.classic_gap, "--notify-on", "always")
    err = result.stderr
    assert result.returncode == 1  # the findings' exit code, not a notification's
    warnings = [line for line in err.splitlines() if line.startswith("warning: notification")]
    assert len(warnings) == 1 and "mailto://127.0.0.1:" in warnings[0]
    assert (tmp_path / "night0" / "east" / "alpha.example.com" / "run.json").is_file()


def test_an_unset_secret_in_a_notify_url_is_refused_before_anything_runs(tmp_path):
    fleet = setup_fleet(tmp_path, 25, 80)
    result = auditor("fleet", "run", fleet, "--notify", "json://u:${UNSET_HOOK_X}@127.0.0.1/")
    assert result.returncode == 2
    assert "UNSET_HOOK_X is not set" in result.stderr
    assert not (tmp_path / "h.sqlite").exists()


@pytest.mark.parametrize(
    "where",
    ["option", "fleet file"],
)
def test_a_notify_url_apprise_cannot_send_to_is_refused_before_anything_runs(tmp_path, where):
    """A URL no notification could ever go to (an unknown scheme) would leave every night
    without its alert and only a warning at the end of the run: it is bad input (exit 2,
    nothing written), found when the URLs are read."""
    fleet = setup_fleet(tmp_path, 25, 80)
    results_for(tmp_path / "a.yaml", tmp_path / "a.json")
    extra: tuple[str, ...] = ()
    if where == "option":
        extra = ("--notify", "jsn://127.0.0.1/hook")
    else:
        fleet.write_text(fleet.read_text().replace("mailto://", "mailtoo://"))
    before = sorted(tmp_path.iterdir())
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "o", "--store",
                     tmp_path / "h.sqlite", *extra)  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert "not a URL Apprise can send to" in line
    if where == "fleet file":
        assert line.startswith(f"error: {fleet}:2: notify[0]: ")
    assert sorted(tmp_path.iterdir()) == before


def test_a_password_written_in_a_notify_url_itself_is_never_shown(tmp_path) -> None:
    """The docs ask for ${VAR}; a password written in the fleet file's URL itself is still
    a secret: the warning of a failed notification masks it (and a query token)."""
    fleet = setup_fleet(tmp_path, free_port(), free_port())
    port = free_port()  # nobody listens there
    url = f"json://auditor:{SECRET}@127.0.0.1:{port}/?token=tok-{SECRET}"
    fleet.write_text(fleet.read_text().replace("notify:\n", f"notify:\n  - {url}\n"))
    result = night(tmp_path, fleet, 0, rf.classic_gap, "--notify-on", "always")
    assert result.returncode == 1
    warnings = [line for line in result.stderr.splitlines() if f":{port}" in line]
    assert warnings == [
        f"warning: notification to json://auditor:***@127.0.0.1:{port}/?token=*** failed "
        "(not delivered)"
    ]
    assert SECRET not in result.stdout + result.stderr


@pytest.mark.parametrize("command", ["fleet run", "notify", "schedule"])
def test_a_password_written_in_a_notify_option_is_refused(tmp_path, command) -> None:
    """On a command line (and in a printed unit) a password is in the process list: --notify
    takes ${VAR} in its place, never the value (exit 2, the URL not repeated)."""
    fleet = setup_fleet(tmp_path, 25, 80)
    results_for(tmp_path / "a.yaml", tmp_path / "a.json")
    url = f"json://auditor:{SECRET}@127.0.0.1:9/"
    args = {
        "fleet run": (
            "fleet",
            "run",
            fleet,
            "-o",
            tmp_path / "o",
            "--store",
            tmp_path / "h.sqlite",
        ),
        "notify": ("notify", "--exit-code", "3"),
        "schedule": ("schedule", "--print", "systemd", "--fleet", fleet),
    }[command]
    before = sorted(tmp_path.iterdir())
    result = auditor(*args, "--notify", url)
    assert result.returncode == 2, result.stderr
    assert "a password or token is written in the URL itself" in result.stderr
    assert SECRET not in result.stdout + result.stderr
    assert sorted(tmp_path.iterdir()) == before


def test_a_schedule_is_printed_without_the_secrets_of_its_notify_urls(tmp_path, monkeypatch):
    """The secrets of the notify URLs live in the unit's environment file, not in the shell
    that prints the schedule: an unset ${VAR} there is no refusal, an unusable URL is."""
    fleet = setup_fleet(tmp_path, 25, 80)
    results_for(tmp_path / "a.yaml", tmp_path / "a.json")
    hook = "json://hook:${HOOK_SECRET_NOT_HERE}@hooks.example.com/a"
    fleet.write_text(fleet.read_text().replace("notify:\n", f"notify:\n  - {hook}\n"))
    monkeypatch.delenv("HOOK_SECRET_NOT_HERE", raising=False)
    result = auditor("schedule", "--print", "systemd", "--fleet", fleet,
                     "--notify", "json://u:${ALSO_NOT_HERE}@hooks.example.com/")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "$${ALSO_NOT_HERE}" in result.stdout
    result = auditor("schedule", "--print", "systemd", "--fleet", fleet, "--notify", "jsn://h/")
    assert result.returncode == 2 and "not a URL Apprise can send to" in result.stderr


def test_the_message_goes_out_even_when_the_fleet_report_cannot_be_written(tmp_path, webhook):
    """The pairs are judged and recorded, then the fleet report fails (here index.html is a
    folder; a full disk does the same): the run ends 3 with that error, and the message about
    the pair that got worse is still sent (it was lost with the report)."""
    hooks, port = webhook
    fleet = setup_fleet(tmp_path, free_port(), port)
    fleet.write_text(
        fleet.read_text().replace("notify:\n", f"notify:\n  - json://127.0.0.1:{port}/\n")
    )
    out = tmp_path / "night0"
    (out / "index.html").mkdir(parents=True)
    (out / "index.html" / "keep").write_text("")
    (out / "fleet.json").write_text("{}")  # an earlier fleet run's folder
    next_second()
    results_for(tmp_path / "a.yaml", tmp_path / "a.json", rf.classic_gap)
    result = auditor("fleet", "run", fleet, "-o", out, "--store", tmp_path / "h.sqlite", "-q")
    assert result.returncode == 3
    assert "index.html" in result.stderr
    assert len(hooks) == 1
    assert "east/alpha.example.com: new -> findings" in hooks[0]["json"]["message"]


def test_findings_are_told_every_night_they_persist_and_drift_only_when_it_is_drift() -> None:
    """--notify-on findings (the default): a pair that stays with findings (no drift: lint
    errors, a flow blocked since before any green run) is in every night's message, not only
    the night it got worse; drift: only drift that matters (and a new pair's first run)."""
    from auditor.fleet.notify import PairNews, compose
    from auditor.fleet.spec import NotifyOn
    from auditor.model.verdict import Verdict

    def news(before, after, drift=()):
        return PairNews("s", "p", before, after, drift, (), "r/report.html")

    still = news(Verdict.FINDINGS, Verdict.FINDINGS)
    message = compose([still], NotifyOn.FINDINGS, "index.html")
    assert message is not None and "s/p: findings -> findings" in message.body
    assert "1 still not compliant" in message.title
    unproven = news(Verdict.UNPROVEN, Verdict.UNPROVEN)
    assert compose([unproven], NotifyOn.FINDINGS, "i") is not None
    assert compose([still, unproven], NotifyOn.DRIFT, "i") is None
    drifted = news(Verdict.FINDINGS, Verdict.FINDINGS, ("newly-blocked: x (ok -> blocked)",))
    assert compose([drifted], NotifyOn.DRIFT, "i") is not None
    assert compose([news(None, Verdict.FINDINGS)], NotifyOn.DRIFT, "i") is not None
    green = news(Verdict.COMPLIANT, Verdict.COMPLIANT)
    assert compose([green], NotifyOn.FINDINGS, "i") is None
    assert compose([green], NotifyOn.ALWAYS, "i") is not None


def wider_gap(flow: Any) -> Any:
    """The classic gap, and the shared IP blocked towards AD1 too: more blocked flows."""
    from auditor.model.record import Status

    if str(flow.source) == rf.SHARED and str(flow.destination) == rf.AD1:
        return (Status.FILTERED,) + (Status.SKIPPED,) * (len(flow.checks) - 1)
    return rf.classic_gap(flow)


def test_a_never_green_pair_that_gets_more_blocked_flows_is_drift_against_its_previous_run(
    tmp_path, smtp
):
    """No compliant run yet, so no last-green baseline: its verdict stays findings, and the
    night it gets more blocked flows was silent. It is drift that matters against the run
    before: in the message (even with --notify-on drift), the fleet report's drift column,
    and `auditor drift`."""
    box, smtp_port = smtp
    fleet = setup_fleet(tmp_path, smtp_port, 0)
    assert night(tmp_path, fleet, 0, rf.classic_gap, "--notify-on", "drift").returncode == 1
    assert len(box.messages) == 1  # a new pair's first run, not compliant
    assert night(tmp_path, fleet, 1, rf.classic_gap, "--notify-on", "drift").returncode == 1
    assert len(box.messages) == 1  # the same findings, no drift: quiet in drift mode
    store = tmp_path / "h.sqlite"
    inventory = tmp_path / "a.yaml"
    result = auditor("drift", inventory, "--store", store)
    assert result.returncode == 0, result.stdout  # nothing changed against the night before
    assert "compared with the previous run" in result.stdout
    assert night(tmp_path, fleet, 2, wider_gap, "--notify-on", "drift").returncode == 1
    assert len(box.messages) == 2
    mail = box.messages[1]
    assert "drift: newly-blocked: 198.51.100.10 -> 203.0.113.10" in mail, mail
    pair = json.loads((tmp_path / "night2" / "fleet.json").read_text())["pairs"][0]
    assert pair["drift_measured"] and pair["drift"], pair
    assert pair["drift"][0]["kind"] == "newly-blocked"
    junit = (tmp_path / "night2" / "junit.xml").read_text()
    assert 'type="drift"' in junit
    result = auditor("drift", inventory, "--store", store)
    assert result.returncode == 1
    assert "newly-blocked" in result.stdout and "compared with the previous run" in result.stdout
    result = auditor("fleet", "report", "--store", store, "-o", tmp_path / "fr")
    assert json.loads((tmp_path / "fr" / "fleet.json").read_text())["pairs"][0]["drift"]


@pytest.mark.parametrize(
    ("variable", "where", "says"),
    [
        ("PGPASSWORD", "fleet file", "is libpq's (the history store's login)"),
        ("PGPASSFILE", "option", "is libpq's (the history store's login)"),
        ("AUDITOR_BIND_PASSWORD", "fleet file", "holds the bind password of provider"),
        ("AUDITOR_BIND_PASSWORD", "option", "holds the bind password of provider"),
    ],
)
def test_a_notify_url_may_not_send_another_parts_secret(
    tmp_path, monkeypatch, variable, where, says
) -> None:
    """`${VAR}` is read from the environment, which holds the store's PGPASSWORD and the
    pairs' bind passwords too: naming one of them would send it to the URL's host. One
    located line, exit 2, nothing written, the value never shown."""
    monkeypatch.setenv(variable, "s3cret-of-another")
    fleet = setup_fleet(tmp_path, 25, 80)
    results_for(tmp_path / "a.yaml", tmp_path / "a.json")
    url = f"json://127.0.0.1:9/hook?t=${{{variable}}}"
    extra: tuple[str, ...] = ()
    if where == "option":
        extra = ("--notify", url)
    else:
        fleet.write_text(fleet.read_text().replace("notify:\n", f"notify:\n  - {url}\n"))
    before = sorted(tmp_path.iterdir())
    result = auditor("fleet", "run", fleet, "-o", tmp_path / "o", "--store",
                     tmp_path / "h.sqlite", *extra)  # fmt: skip
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert f"${{{variable}}} {says}" in line, line
    if where == "fleet file":
        assert line.startswith(f"error: {fleet}:2: notify[0]: ")
    else:
        assert "--notify" in line and "number 1" in line
    assert "s3cret-of-another" not in result.stdout + result.stderr
    assert sorted(tmp_path.iterdir()) == before
    # the schedule refuses it too (the unit's environment file holds both)
    args = ["schedule", "--print", "cron"]
    result = auditor(*args, "--fleet", fleet, *extra)
    assert result.returncode == 2 and f"${{{variable}}} {says}" in result.stderr
    if variable.startswith("AUDITOR"):
        result = auditor(*args, tmp_path / "a.yaml", "--notify", url)
        assert result.returncode == 2 and f"${{{variable}}} {says}" in result.stderr


def test_a_notify_urls_own_secret_variable_is_still_fine(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SMTP_PASSWORD", "smtp-secret")
    fleet = setup_fleet(tmp_path, 25, 80)
    results_for(tmp_path / "a.yaml", tmp_path / "a.json")
    url = "mailtos://auditor:${SMTP_PASSWORD}@mail.example.com?to=oncall@example.com"
    fleet.write_text(fleet.read_text().replace("notify:\n", f"notify:\n  - {url}\n"))
    result = auditor("schedule", "--print", "systemd", "--fleet", fleet)
    assert result.returncode == 0, result.stderr
    result = auditor("schedule", "--print", "cron", tmp_path / "a.yaml", "--notify", url)
    assert result.returncode == 0, result.stderr


def test_drift_against_a_never_green_previous_run_is_told_but_does_not_judge(
    tmp_path, smtp, monkeypatch
):
    """Before its first compliant run a pair's drift is measured against its previous run:
    reported, but no input of the verdict. A pair whose findings were fixed the night its
    certificate was renewed is compliant (exit 0), not held at findings by that change; the
    change is still in the fleet report."""
    import functools

    box, smtp_port = smtp
    fleet = setup_fleet(tmp_path, smtp_port, 0)
    assert night(tmp_path, fleet, 0, rf.classic_gap).returncode == 1
    renewed = functools.partial(rf.records_for, cert_serial="2")
    monkeypatch.setattr(rf, "records_for", renewed)
    result = night(tmp_path, fleet, 1, rf.everywhere_good, "--notify-on", "drift")
    pair = json.loads((tmp_path / "night1" / "fleet.json").read_text())["pairs"][0]
    assert pair["drift"], pair  # the renewed certificate is drift that matters
    assert result.returncode == 0, (result.stdout, pair["drift"])
    assert pair["verdict"] == "compliant"
    assert len(box.messages) == 2 and "drift: " in box.messages[1]


def test_a_pair_whose_history_is_damaged_is_told_as_unknown_before_and_why() -> None:
    """A pair whose history cannot be read has no known verdict before this run: the message
    says `unknown ->`, not `new ->` (it is not a new pair), and gives why it is incomplete."""
    from auditor.fleet.notify import PairNews, compose
    from auditor.fleet.spec import NotifyOn
    from auditor.model.verdict import Verdict

    why = ("error: not audited: its history is damaged: h.sqlite: runs['x']: ...",)
    damaged = PairNews("s", "p", None, Verdict.INCOMPLETE, (), (), "r", why=why, damaged=True)
    message = compose([damaged], NotifyOn.FINDINGS, "i")
    assert message is not None and message.failure
    assert "s/p: unknown -> incomplete" in message.body
    assert f"  why: {why[0]}" in message.body
    fresh = PairNews("s", "q", None, Verdict.INCOMPLETE, (), (), "r", why=why)
    assert "s/q: new -> incomplete" in compose([fresh], NotifyOn.FINDINGS, "i").body


def test_a_pair_that_could_not_be_judged_is_told_whatever_notify_on_says() -> None:
    """--notify-on drift keeps findings without drift quiet, never a night that could not
    judge a pair (a site unreachable, a damaged history): that one is sent as a failure."""
    from auditor.fleet.notify import PairNews, compose
    from auditor.fleet.spec import NotifyOn
    from auditor.model.verdict import Verdict

    lost = PairNews("s", "p", Verdict.INCOMPLETE, Verdict.INCOMPLETE, (), (), "r")
    for when in NotifyOn:
        message = compose([lost], when, "i")
        assert message is not None and message.failure, when
    quiet = PairNews("s", "p", Verdict.FINDINGS, Verdict.FINDINGS, (), (), "r")
    assert compose([quiet], NotifyOn.DRIFT, "i") is None
