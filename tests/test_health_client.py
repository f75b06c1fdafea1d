"""The health client against a fake appliance over real TLS (tests/support/fake_appliance.py):
each way of failing is its own reason, tokens are cached and renewed, nothing leaks."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.fake_appliance import Behaviour, FakeAppliance, make_pki

from auditor.health.client import AskFailure, FailureReason, HealthClient
from auditor.health.credentials import Credentials
from auditor.health.document import FailoverRole, HealthDocument
from auditor.inventory.secrets import Secret
from auditor.model.inventory import HealthSpec

CLIENT_ID = "api-account-7f3e"
CLIENT_SECRET = "Sup3r-S3cret-Value-9d2c"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour(CLIENT_ID, CLIENT_SECRET, "site1.example.com", "primary", ["198.51.100.10"])


@pytest.fixture
def appliance(pki: dict[str, Path], behaviour: Behaviour) -> Iterator[FakeAppliance]:
    with FakeAppliance(behaviour, pki["site1"], pki["site1_key"]) as fake:
        yield fake


class Clock:
    """A monotonic clock the test moves by hand (no sleeping, no timing asserts)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client_for(
    url: str,
    pki: dict[str, Path],
    *,
    secret: str = CLIENT_SECRET,
    ca: str = "ca",
    tls_name: str = "site1.example.com",
    timeout: float = 5.0,
    clock: Clock | None = None,
) -> HealthClient:
    spec = HealthSpec(url=url, ca_file=pki[ca], tls_name=tls_name)
    creds = Credentials(Secret(CLIENT_ID), Secret(secret))
    if clock is None:
        return HealthClient(spec, creds, timeout=timeout)
    return HealthClient(spec, creds, timeout=timeout, clock=clock)


def failure(answer: HealthDocument | AskFailure) -> AskFailure:
    assert isinstance(answer, AskFailure), answer
    assert CLIENT_SECRET not in answer.message and CLIENT_ID not in answer.message
    return answer


def test_healthy_appliance_answers_over_verified_tls(
    appliance: FakeAppliance, pki: dict[str, Path]
) -> None:
    answer = client_for(appliance.url, pki).check_health()
    assert isinstance(answer, HealthDocument)
    assert answer.failover_role is FailoverRole.PRIMARY
    assert [str(ip) for ip in answer.enabled_shared_ips] == ["198.51.100.10"]
    assert appliance.behaviour.token_requests == 1


def test_wrong_secret_is_auth(appliance: FakeAppliance, pki: dict[str, Path]) -> None:
    answer = failure(client_for(appliance.url, pki, secret="wrong-secret").check_health())
    assert answer.reason is FailureReason.AUTH
    assert "401" in answer.message and "wrong-secret" not in answer.message
    assert appliance.behaviour.command_requests == 0  # no token, no command


def test_token_is_cached_until_it_expires(appliance: FakeAppliance, pki: dict[str, Path]) -> None:
    clock = Clock()
    client = client_for(appliance.url, pki, clock=clock)
    assert isinstance(client.check_health(), HealthDocument)
    clock.now += 600
    assert isinstance(client.check_health(), HealthDocument)
    assert appliance.behaviour.token_requests == 1
    clock.now += 3600  # past the token's hour: a new one is asked for
    assert isinstance(client.check_health(), HealthDocument)
    assert appliance.behaviour.token_requests == 2
    assert appliance.behaviour.command_requests == 3


def test_a_revoked_token_is_refreshed_once(appliance: FakeAppliance, pki: dict[str, Path]) -> None:
    client = client_for(appliance.url, pki, clock=Clock())
    assert isinstance(client.check_health(), HealthDocument)
    appliance.behaviour.revoke_tokens()  # the appliance's side of a regenerated secret
    assert isinstance(client.check_health(), HealthDocument)
    assert appliance.behaviour.token_requests == 2


def test_slow_answer_is_timeout(
    appliance: FakeAppliance, behaviour: Behaviour, pki: dict[str, Path]
) -> None:
    behaviour.mode = "slow"
    answer = failure(client_for(appliance.url, pki, timeout=0.3).check_health())
    assert answer.reason is FailureReason.TIMEOUT
    assert "0.3 s" in answer.message


def test_an_answer_trickling_in_is_timeout_for_the_whole_request(
    appliance: FakeAppliance, behaviour: Behaviour, pki: dict[str, Path]
) -> None:
    behaviour.mode = "trickle"  # a byte every 50 ms: each read beats the timeout, the whole not
    answer = failure(client_for(appliance.url, pki, timeout=0.5).check_health())
    assert answer.reason is FailureReason.TIMEOUT


@pytest.mark.parametrize("mode", ["malformed", "bomb", "huge", "token-garbage"])
def test_malformed_or_hostile_answers_are_malformed(
    mode: str, appliance: FakeAppliance, behaviour: Behaviour, pki: dict[str, Path]
) -> None:
    behaviour.mode = mode
    answer = failure(client_for(appliance.url, pki).check_health())
    assert answer.reason is FailureReason.MALFORMED


def test_external_entity_leaks_no_local_file(
    appliance: FakeAppliance, behaviour: Behaviour, pki: dict[str, Path], tmp_path: Path
) -> None:
    local = tmp_path / "shadow"
    local.write_text("root:LOCAL-FILE-CONTENT:19000", encoding="utf-8")
    behaviour.mode, behaviour.xxe_path = "xxe", local
    answer = failure(client_for(appliance.url, pki).check_health())
    assert answer.reason is FailureReason.MALFORMED
    assert "LOCAL-FILE-CONTENT" not in answer.message
    assert "DTD" in answer.message


def test_untrusted_certificate_is_tls(pki: dict[str, Path], behaviour: Behaviour) -> None:
    with FakeAppliance(behaviour, pki["untrusted"], pki["untrusted_key"]) as rogue:
        answer = failure(client_for(rogue.url, pki).check_health())
    assert answer.reason is FailureReason.TLS
    assert "not trusted" in answer.message
    assert behaviour.token_requests == 0  # the credentials never left for an untrusted peer


def test_certificate_for_another_name_is_tls(
    appliance: FakeAppliance, pki: dict[str, Path]
) -> None:
    answer = failure(client_for(appliance.url, pki, tls_name="site2.example.com").check_health())
    assert answer.reason is FailureReason.TLS
    assert "site2.example.com" in answer.message


def test_nobody_listening_is_connect(pki: dict[str, Path]) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    answer = failure(client_for(f"https://127.0.0.1:{port}", pki).check_health())
    assert answer.reason is FailureReason.CONNECT


def test_other_http_status_is_http(
    appliance: FakeAppliance, behaviour: Behaviour, pki: dict[str, Path]
) -> None:
    behaviour.mode = "http-500"
    answer = failure(client_for(appliance.url, pki).check_health())
    assert answer.reason is FailureReason.HTTP
    assert "500" in answer.message
