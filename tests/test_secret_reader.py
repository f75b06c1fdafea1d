"""The one secret reader (auditor.inventory.secrets.read_secret) behind bind passwords, RADIUS
shared secrets and the health API's OAuth credentials: each refusal keeps its exact wording and
field, every problem is reported at once, and a secret's value never appears in a message or a
repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.errors import InputError
from auditor.health.credentials import read_credentials
from auditor.inventory.load import load_inventory
from auditor.inventory.secrets import read_passwords
from auditor.model.inventory import Inventory
from auditor.probe.app.secrets import read_radius_secrets

ROOT = Path(__file__).resolve().parent.parent
VALUE = "s3cr3t-value-never-shown"


def inventory(tmp_path: Path, example: str, edit: tuple[str, str] = ("", "")) -> Inventory:
    text = (ROOT / "examples" / example).read_text(encoding="utf-8").replace(*edit)
    path = tmp_path / "inv.yaml"
    path.write_text(text, encoding="utf-8")
    return load_inventory(path)


def refusals(read: object, inv: Inventory) -> list[str]:
    with pytest.raises(InputError) as exc:
        read(inv)  # type: ignore[operator]
    lines = [str(p) for p in exc.value.problems]
    assert all(VALUE not in line for line in lines)
    return lines


def test_bind_password_refusals_keep_their_wording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AUDITOR_BIND_PASSWORD", raising=False)
    inv = inventory(tmp_path, "pair.yaml")
    (line,) = refusals(read_passwords, inv)
    assert line.endswith(
        "providers[0].bind.password_env: provider corp-ad: environment variable "
        "AUDITOR_BIND_PASSWORD is not set (export the bind password there before probing)"
    )
    monkeypatch.setenv("AUDITOR_BIND_PASSWORD", "")  # an account without a password
    assert read_passwords(inv)["corp-ad"].reveal() == ""
    missing = inventory(
        tmp_path, "pair.yaml", ("password_env: AUDITOR_BIND_PASSWORD", "password_file: gone.txt")
    )
    (line,) = refusals(read_passwords, missing)
    assert line.endswith(
        f"providers[0].bind.password_file: provider corp-ad: cannot read {tmp_path}/gone.txt: "
        "No such file or directory (a file holding the bind password)"
    )
    (tmp_path / "gone.txt").write_text(VALUE + "\n", encoding="utf-8")
    found = read_passwords(missing)
    assert found["corp-ad"].reveal() == VALUE and VALUE not in repr(found)


def test_radius_secret_refusals_keep_their_wording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    block = (
        "  - name: nps\n    kind: radius\n    endpoints: [203.0.113.40]\n"
        "    radius:\n      secret_env: IA_NPS_SECRET\n"
        "  - name: nps2\n    kind: radius\n    endpoints: [203.0.113.41]\n"
        "    radius:\n      secret_file: /nonexistent/nps2.secret\n"
    )
    monkeypatch.delenv("IA_NPS_SECRET", raising=False)
    inv = inventory(tmp_path, "pair.yaml", ("providers:\n", "providers:\n" + block))
    first, second = refusals(read_radius_secrets, inv)  # both at once, in inventory order
    assert first.endswith(
        "providers[0].radius.secret_env: provider nps: environment variable IA_NPS_SECRET is "
        "not set (export the RADIUS shared secret there before probing)"
    )
    assert second.endswith(
        "providers[1].radius.secret_file: provider nps2: cannot read /nonexistent/nps2.secret: "
        "No such file or directory (a file holding the RADIUS shared secret)"
    )
    assert ":" in first.split("providers[0]")[0]  # FILE:LINE: first


def test_health_credential_refusals_keep_their_wording(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUDITOR_HEALTH_CLIENT_ID", "")
    monkeypatch.delenv("AUDITOR_HEALTH_CLIENT_SECRET", raising=False)
    empty = tmp_path / "empty-secret"
    empty.write_text("\n", encoding="utf-8")
    inv = inventory(tmp_path, "health.yaml", ("/run/secrets/site2-health-secret", str(empty)))
    lines = refusals(read_credentials, inv)
    hint = "(export the API account's OAuth credential there before asking the appliance)"
    assert any(
        t.endswith(
            "pair.primary.health.client_id_env: appliance site1: environment variable "
            f"AUDITOR_HEALTH_CLIENT_ID is empty {hint}"
        )
        for t in lines
    )
    assert any(
        t.endswith(
            "pair.primary.health.client_secret_env: appliance site1: environment variable "
            f"AUDITOR_HEALTH_CLIENT_SECRET is not set {hint}"
        )
        for t in lines
    )
    assert any(
        t.endswith(
            f"pair.backup.health.client_secret_file: appliance site2: {empty} is empty "
            "(expected the credential)"
        )
        for t in lines
    )
    monkeypatch.setenv("AUDITOR_HEALTH_CLIENT_ID", "bench-id")
    monkeypatch.setenv("AUDITOR_HEALTH_CLIENT_SECRET", VALUE)
    empty.write_text(VALUE, encoding="utf-8")
    creds = read_credentials(inv)
    assert creds["site1"].client_secret.reveal() == VALUE and VALUE not in repr(creds)
