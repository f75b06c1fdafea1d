"""The application probes against real servers (examples/lab-apps.yaml): freeradius, krb5kdc,
dnsmasq, chrony, postfix and a syslog-TLS listener in the provider namespace, behind a router
whose UDP rules are incomplete. One test per status each probe can return."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from netaddr import IPAddress

from auditor.lab import Lab, ntpd
from auditor.lab.command import run

pytestmark = pytest.mark.lab

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "examples" / "lab-apps.yaml"
APPS = "203.0.113.20"
LDAP = "203.0.113.10"
SITE1, SHARED, SITE2 = "198.51.100.11", "198.51.100.10", "198.51.100.12"
REALM = "LAB.EXAMPLE.COM"
TIMEOUT = 1.0

# Runs one probe inside a namespace of the lab and prints its outcome as JSON.
_RUNNER = """
import asyncio, importlib, json, sys
from pathlib import Path
module, func, args, kwargs = json.loads(sys.argv[1])
sys.path.insert(0, sys.argv[2])  # tests/: the UDP probes run alone live in support.app_probes
from support import app_probes
for key in ("ca_file",):
    if kwargs.get(key):
        kwargs[key] = Path(kwargs[key])
if "secret_file" in kwargs:
    kwargs["secret"] = Path(kwargs.pop("secret_file")).read_bytes()
if "secret_text" in kwargs:
    kwargs["secret"] = kwargs.pop("secret_text").encode()
probe = getattr(app_probes, func, None) or getattr(
    importlib.import_module("auditor.probe.app." + module), func
)
o = asyncio.run(probe(*args, **kwargs))
print(json.dumps({"status": o.status.value, "reason": o.reason, "detail": dict(o.detail)}))
"""


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    the_lab = Lab(SPEC, prefix=f"i12{os.getpid() % 100000}")
    try:
        the_lab.down()
        the_lab.up()
        yield the_lab
    finally:
        the_lab.down()


def probe(lab: Lab, module: str, *args: Any, ns: str | None = None, **kwargs: Any) -> Any:
    """Run probe_<module> (or `func=`) in the probe namespace (or `ns`); its outcome as a dict."""
    func = kwargs.pop("func", f"probe_{module}")
    payload = json.dumps([module, func, list(args), kwargs])
    proc = lab.exec(
        [sys.executable, "-c", _RUNNER, payload, str(REPO / "tests")],
        namespace=ns,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def secret_file(lab: Lab) -> str:
    return str(lab.state_dir / "radius-secret")


# -- RADIUS ---------------------------------------------------------------------------------


def test_radius_status_server_from_a_listed_client_is_answered(lab: Lab) -> None:
    out = probe(lab, "radius", SITE1, APPS, 1812, TIMEOUT, secret_file=secret_file(lab))
    assert out["status"] == "radius-answered"
    assert out["detail"]["code"] == "Access-Accept"


def test_radius_access_request_for_a_probe_user_is_rejected_and_still_proves_the_path(
    lab: Lab,
) -> None:
    out = probe(
        lab, "radius", SHARED, APPS, 1812, TIMEOUT, secret_file=secret_file(lab), user="nobody"
    )
    assert out["status"] == "radius-answered"
    assert out["detail"]["code"] == "Access-Reject"


@pytest.mark.parametrize(
    ("user", "code"),
    [("auditor-accept", "Access-Accept"), ("auditor-challenge", "Access-Challenge")],
)
def test_radius_access_request_answers_accept_and_challenge_too(
    lab: Lab, user: str, code: str
) -> None:
    out = probe(lab, "radius", SITE1, APPS, 1812, TIMEOUT, secret_file=secret_file(lab), user=user)
    assert (out["status"], out["detail"]["code"]) == ("radius-answered", code)


def test_radius_wrong_secret_is_radius_bad_secret_and_never_shown(lab: Lab) -> None:
    wrong = "not-the-lab-secret-42"
    out = probe(lab, "radius", SITE1, APPS, 1812, TIMEOUT, secret_text=wrong, user="nobody")
    assert out["status"] == "radius-bad-secret"
    real = Path(secret_file(lab)).read_text()
    assert wrong not in json.dumps(out) and real not in json.dumps(out)


def test_radius_silence_for_an_address_missing_from_the_client_list(lab: Lab) -> None:
    # The router admits site2's unique address (rule 198.51.100.0/24 udp 1812): only
    # freeradius's client list leaves it out.
    out = probe(lab, "radius", SITE2, APPS, 1812, TIMEOUT, secret_file=secret_file(lab))
    assert out["status"] == "no-answer"
    assert "does not list this address as a client" in out["reason"]


def test_radius_icmp_port_unreachable_is_refused(lab: Lab) -> None:
    out = probe(
        lab, "radius", APPS, APPS, 1813, TIMEOUT, secret_file=secret_file(lab),
        ns=lab.provider_ns,
    )  # fmt: skip
    assert out["status"] == "refused"


@pytest.mark.parametrize(
    ("module", "kwargs"),
    [
        ("radius", {"secret_text": "x"}),
        ("kerberos", {"principal": "auditor-probe", "realm": REALM}),
        ("dns", {"query_name": "ldap.lab.example.com"}),
        ("ntp", {}),
        ("cldap", {}),
        ("smtp", {"tls_name": "apps.lab.example.com"}),
    ],
)
def test_a_source_this_host_lacks_is_not_local(
    lab: Lab, module: str, kwargs: dict[str, Any]
) -> None:
    out = probe(lab, module, "198.51.100.99", APPS, 1812, TIMEOUT, **kwargs)
    assert out["status"] == "not-local"


# -- Kerberos -------------------------------------------------------------------------------


@pytest.mark.parametrize("tcp", [False, True], ids=["udp", "tcp"])
@pytest.mark.parametrize(
    ("principal", "code"), [("auditor-probe", "25"), ("nobody", "6")], ids=["preauth", "unknown"]
)
def test_kdc_answers_an_as_req_without_preauth(
    lab: Lab, tcp: bool, principal: str, code: str
) -> None:
    out = probe(
        lab, "kerberos", SITE2, APPS, 88, TIMEOUT, principal=principal, realm=REALM, tcp=tcp
    )
    assert out["status"] == "kdc-answered"
    assert out["detail"]["code"] == code


def test_kdc_dropped_by_the_router_is_no_answer_over_udp_and_filtered_over_tcp(lab: Lab) -> None:
    kwargs = {"principal": "auditor-probe", "realm": REALM}
    assert probe(lab, "kerberos", SITE1, LDAP, 88, TIMEOUT, **kwargs)["status"] == "no-answer"
    tcp = probe(lab, "kerberos", SITE1, LDAP, 88, TIMEOUT, tcp=True, **kwargs)
    assert tcp["status"] == "filtered"


def test_kdc_port_without_a_listener_is_refused(lab: Lab) -> None:
    kwargs = {"principal": "auditor-probe", "realm": REALM, "ns": lab.provider_ns}
    assert probe(lab, "kerberos", APPS, APPS, 89, TIMEOUT, **kwargs)["status"] == "refused"


# -- DNS ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "rcode"),
    [
        ("ldap.lab.example.com", "NOERROR"),
        ("missing.lab.example.com", "NXDOMAIN"),
        ("www.example.org", "REFUSED"),
    ],
)
def test_dns_answered_with_the_rcode(lab: Lab, name: str, rcode: str) -> None:
    out = probe(lab, "dns", SITE1, APPS, 53, TIMEOUT, query_name=name)
    assert (out["status"], out["detail"]["rcode"]) == ("dns-answered", rcode)


def test_dns_over_tcp_is_answered(lab: Lab) -> None:
    out = probe(lab, "dns", SITE2, APPS, 53, TIMEOUT, query_name="ldap.lab.example.com", tcp=True)
    assert (out["status"], out["detail"]["answers"]) == ("dns-answered", "1")


def test_dns_dropped_for_site2_over_udp_is_no_answer(lab: Lab) -> None:
    out = probe(lab, "dns", SITE2, APPS, 53, TIMEOUT, query_name="ldap.lab.example.com")
    assert out["status"] == "no-answer"


def test_dns_port_without_a_listener_is_refused(lab: Lab) -> None:
    out = probe(lab, "dns", APPS, APPS, 54, TIMEOUT, query_name="x.lab.example.com",
                ns=lab.provider_ns)  # fmt: skip
    assert out["status"] == "refused"


# -- NTP ------------------------------------------------------------------------------------


def test_ntp_answered_with_stratum_and_offset(lab: Lab) -> None:
    out = probe(lab, "ntp", SITE1, APPS, 123, TIMEOUT)
    assert out["status"] == "ntp-answered"
    assert out["detail"]["stratum"] == "8"
    assert abs(float(out["detail"]["offset_ms"])) < 1000  # same host clock: no real offset


def test_ntp_rejected_by_the_router_is_refused(lab: Lab) -> None:
    # The router REJECTs the shared address: the ICMP port unreachable comes from it.
    assert probe(lab, "ntp", SHARED, APPS, 123, TIMEOUT)["status"] == "refused"


def test_ntp_dropped_by_the_router_is_no_answer(lab: Lab) -> None:
    assert probe(lab, "ntp", SITE2, APPS, 123, TIMEOUT)["status"] == "no-answer"


def test_ntp_server_without_a_time_source_is_unsynchronized(lab: Lab) -> None:
    # A second chronyd with no source and no local clock, on another provider address.
    root = lab.state_dir / "apps" / "ntp-unsync"
    other = "203.0.113.21"
    run(["ip", "addr", "add", f"{other}/24", "dev", lab.provider_iface], netns=lab.provider_ns)
    try:
        ntpd.write_config(root, [IPAddress(other)], stratum=None)
        ntpd.start(root, [IPAddress(other)], lab.provider_ns)
        out = probe(lab, "ntp", APPS, other, 123, TIMEOUT, ns=lab.provider_ns)
    finally:
        ntpd.stop(root)
    assert out["status"] == "ntp-unsynchronized"
    assert out["detail"]["leap"] == "3"


# -- SMTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("port", "tls"), [(25, "starttls"), (587, "starttls"), (465, "implicit")])
def test_smtp_banner_ehlo_and_a_valid_certificate(lab: Lab, port: int, tls: str) -> None:
    out = probe(lab, "smtp", SITE2, APPS, port, 3.0, tls_name="apps.lab.example.com",
                ca_file=str(lab.ca_file()))  # fmt: skip
    assert out["status"] == "smtp-ok"
    assert out["detail"]["tls"] == tls


def test_smtp_certificate_for_another_name_is_tls_failed(lab: Lab) -> None:
    out = probe(lab, "smtp", SITE1, APPS, 25, 3.0, tls_name="mail.example.net",
                ca_file=str(lab.ca_file()))  # fmt: skip
    assert (out["status"], out["detail"]["tls_reason"]) == ("tls-failed", "hostname-mismatch")


def test_smtp_certificate_from_an_unknown_ca_is_tls_failed(lab: Lab) -> None:
    out = probe(lab, "smtp", SITE1, APPS, 465, 3.0, tls_name="apps.lab.example.com",
                ca_file=str(lab.untrusted_ca_file()))  # fmt: skip
    assert (out["status"], out["detail"]["tls_reason"]) == ("tls-failed", "untrusted")


def test_smtp_port_that_is_not_smtp_is_smtp_failed(lab: Lab) -> None:
    # The KDC's TCP port accepts the connection but never sends a 220 banner.
    out = probe(lab, "smtp", SITE1, APPS, 88, TIMEOUT, tls_name="apps.lab.example.com",
                ca_file=str(lab.ca_file()))  # fmt: skip
    assert out["status"] == "smtp-failed"


def test_smtp_dropped_is_filtered_and_closed_is_refused(lab: Lab) -> None:
    kwargs = {"tls_name": "apps.lab.example.com", "ca_file": str(lab.ca_file())}
    assert probe(lab, "smtp", SITE1, LDAP, 25, TIMEOUT, **kwargs)["status"] == "filtered"
    closed = probe(lab, "smtp", APPS, APPS, 26, TIMEOUT, ns=lab.provider_ns, **kwargs)
    assert closed["status"] == "refused"


# -- CLDAP and syslog -----------------------------------------------------------------------


def test_cldap_to_slapd_gets_no_answer_and_closed_udp_389_is_refused(lab: Lab) -> None:
    # slapd serves no LDAP over UDP: through the router (no UDP 389 rule) silence, and from
    # next door the kernel's ICMP port unreachable.
    assert probe(lab, "cldap", SITE1, LDAP, 389, TIMEOUT)["status"] == "no-answer"
    assert probe(lab, "cldap", APPS, LDAP, 389, TIMEOUT, ns=lab.provider_ns)["status"] == "refused"


def test_syslog_udp_stays_untested_with_the_reason(lab: Lab) -> None:
    out = probe(lab, "syslog", SITE1, APPS, 514, TIMEOUT)
    assert out["status"] == "untested"
    assert "no answer" in out["reason"]


def test_syslog_over_tls_is_a_real_tls_listener(lab: Lab) -> None:
    code = (
        "import asyncio,sys;from pathlib import Path;from auditor.probe.tls import probe_tls;"
        f"o=asyncio.run(probe_tls('{SITE2}','{APPS}',6514,3.0,tls_name='apps.lab.example.com',"
        f"ca_file=Path('{lab.ca_file()}')));print(o.status.value)"
    )
    proc = lab.exec([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "tls-ok", proc.stderr


def test_lab_down_stops_every_app_server(tmp_path: Path) -> None:
    the_lab = Lab(SPEC, prefix=f"i12d{os.getpid() % 10000}")
    try:
        the_lab.up()
        pids = [s.pid for s in the_lab.status().servers if s.name.startswith("app-")]
        assert len(pids) == 6 and all(pids)
    finally:
        the_lab.down()
    alive = [pid for pid in pids if Path(f"/proc/{pid}").exists()]
    assert alive == []
