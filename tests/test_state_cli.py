"""`auditor state` end to end against a fake appliance pair over real TLS: exit codes, text and
JSON, bad input, and credentials that never reach any output."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from support.cli import auditor
from support.fake_appliance import (
    ID_ENV,
    SECRET_ENV,
    FakeAppliance,
    inventory_text,
    make_pki,
    scenario,
)

CLIENT_ID = "cli-account-51ab"
CLIENT_SECRET = "cli-S3cret-Never-Printed-0e77"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ID_ENV, CLIENT_ID)
    monkeypatch.setenv(SECRET_ENV, CLIENT_SECRET)


class Pair:
    def __init__(self, pki: dict[str, Path], name: str, directory: Path) -> None:
        self.first, self.second = scenario(name, CLIENT_ID, CLIENT_SECRET)
        self.one = FakeAppliance(self.first, pki["site1"], pki["site1_key"])
        self.two = FakeAppliance(self.second, pki["site2"], pki["site2_key"])
        self.inventory = directory / "pair.yaml"
        text = inventory_text(self.one.url, self.two.url, pki["ca"], site="cli.example.com")
        self.inventory.write_text(text, encoding="utf-8")


Serve = Callable[[str], Pair]


@pytest.fixture
def serve(pki: dict[str, Path], tmp_path: Path) -> Iterator[Serve]:
    started: list[Pair] = []

    def start(name: str) -> Pair:
        pair = Pair(pki, name, tmp_path)
        pair.one.__enter__()
        pair.two.__enter__()
        started.append(pair)
        return pair

    yield start
    for pair in started:
        pair.one.close()
        pair.two.close()


def run(*args: str) -> tuple[int, str, str]:
    done = auditor("state", *args)
    out, err = done.stdout, done.stderr
    assert CLIENT_SECRET not in out + err and CLIENT_ID not in out + err
    return done.returncode, out, err


def test_healthy_pair_exits_0_and_prints_each_appliance(serve: Serve) -> None:
    pair = serve("healthy")
    code, out, _ = run(str(pair.inventory))
    assert code == 0
    assert "site1 (inventory primary)" in out and "site2 (inventory backup)" in out
    assert "role: primary" in out and "role: backup" in out
    assert "enabled shared IPs: 198.51.100.10" in out
    assert "version: 24.3.1 (build 20241)" in out
    assert "7 min ago, Success" in out
    assert out.rstrip().endswith("PASS: cli.example.com: PRIMARY-ACTIVE, 0 error(s), 0 warning(s)")


def test_split_brain_exits_1_with_the_alarm(serve: Serve) -> None:
    code, out, _ = run(str(serve("split-brain").inventory))
    assert code == 1
    assert "error [ip-conflict] shared IP 198.51.100.10 is enabled on both site1 and site2" in out
    assert "SPLIT-BRAIN (IP CONFLICT ALARM)" in out


def test_failed_over_is_a_warning_exit_0(serve: Serve) -> None:
    code, out, _ = run(str(serve("failed-over").inventory))
    assert code == 0
    assert "warning [failed-over]" in out and "BACKUP-ACTIVE" in out


@pytest.mark.parametrize(
    ("name", "code_name"),
    [("none-enabled", "shared-ip-enabled-nowhere"), ("success-0", "health-check-failed")],
)
def test_errors_exit_1(serve: Serve, name: str, code_name: str) -> None:
    code, out, _ = run(str(serve(name).inventory))
    assert code == 1
    assert f"error [{code_name}]" in out


def test_success_0_shows_the_appliances_message(serve: Serve) -> None:
    _, out, _ = run(str(serve("success-0").inventory))
    assert "Failover peer site2.example.com is unreachable" in out


def test_stale_sync_follows_max_sync_age(serve: Serve) -> None:
    pair = serve("stale-sync")
    code, out, _ = run(str(pair.inventory))
    assert code == 0 and out.count("warning [sync-stale]") == 2
    code, out, _ = run(str(pair.inventory), "--max-sync-age", "4d")
    assert code == 0 and "sync-stale" not in out


def test_json_has_one_object_per_appliance_and_the_verdict(serve: Serve) -> None:
    pair = serve("split-brain")
    code, out, _ = run(str(pair.inventory), "--format", "json")
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"] == {
        "status": "split-brain",
        "failover_state": None,
        "errors": 2,
        "warnings": 0,
    }
    assert [a["name"] for a in doc["appliances"]] == ["site1", "site2"]
    assert [a["failover_role"] for a in doc["appliances"]] == ["primary", "primary"]
    assert doc["appliances"][1]["enabled_shared_ips"] == ["198.51.100.10"]
    # seven minutes, as the fake appliance answers; a loaded machine may shift it by a second
    assert 415 <= doc["appliances"][0]["last_sync_age_seconds"] <= 425
    assert {f["code"] for f in doc["findings"]} == {"ip-conflict", "two-primaries"}


def test_wrong_secret_is_an_error_with_its_reason(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = serve("healthy")
    monkeypatch.setenv(SECRET_ENV, "not-the-secret")
    code, out, err = run(str(pair.inventory), "--format", "json")
    assert code == 1
    assert "not-the-secret" not in out + err
    doc = json.loads(out)
    assert [a["failure"]["reason"] for a in doc["appliances"]] == ["auth", "auth"]


def test_slow_appliance_times_out_and_the_other_still_answers(serve: Serve) -> None:
    pair = serve("healthy")
    pair.second.mode = "slow"
    code, out, _ = run(str(pair.inventory), "--timeout", "0.3")
    assert code == 1
    assert "site2 cannot be asked (timeout): no answer within 0.3 s" in out
    assert "role: primary" in out


def test_no_health_block_exits_3() -> None:
    code, _, err = run(str(ROOT / "examples" / "pair.yaml"))
    assert code == 3
    assert "no appliance has a health: block" in err


def test_unset_secret_variable_is_bad_input(serve: Serve, monkeypatch: pytest.MonkeyPatch) -> None:
    pair = serve("healthy")
    monkeypatch.delenv(SECRET_ENV)
    code, out, err = run(str(pair.inventory))
    assert code == 2 and out == ""
    assert (
        "pair.primary.health.client_secret_env: appliance site1: environment variable "
        f"{SECRET_ENV} is not set" in err
    )


def test_bad_duration_is_usage(serve: Serve) -> None:
    code, _, err = run(str(serve("healthy").inventory), "--max-sync-age", "soon")
    assert code == 2 and "not a duration" in err


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            f"client_secret_env: {SECRET_ENV}",
            f"client_secret: {CLIENT_SECRET}",
            "pair.primary.health.client_secret: a literal credential is refused (value not shown",
        ),
        (
            f"client_secret_env: {SECRET_ENV}",
            f"client_secret_env: '{CLIENT_SECRET}!'",
            "pair.primary.health.client_secret_env: is not an environment variable name (value "
            "not shown",
        ),
        ("url: https://", "url: http://", "is not an https:// address"),
        ("url: https://", f"url: https://{CLIENT_ID}:{CLIENT_SECRET}@", "carries user information"),
    ],
)
def test_bad_health_blocks_are_refused_without_echoing_secrets(
    serve: Serve, old: str, new: str, message: str
) -> None:
    pair = serve("healthy")
    text = pair.inventory.read_text(encoding="utf-8")
    pair.inventory.write_text(text.replace(old, new, 1), encoding="utf-8")
    code, out, err = run(str(pair.inventory))
    assert code == 2 and out == ""
    assert message in err
    assert err.startswith(f"error: {pair.inventory}:")
    assert pair.first.token_requests == 0
