"""The namespace lab: real namespaces, a real netfilter router, real slapd (needs root)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import LAB_SPEC, REPO, lab_file_copy

from auditor.lab import NFT_CHAIN, NFT_TABLE, Lab

pytestmark = pytest.mark.lab

ACCOUNT = "cn=svc-auditor,ou=service,dc=lab,dc=example,dc=com"
TLS_NAME = "ldap.lab.example.com"
GOOD_V4, GOOD_V6 = "203.0.113.10", "2001:db8:203::10"
WRONG_NAME_V4 = "203.0.113.11"
# examples/lab.yaml (around lab-inventory.yaml): site1's unique address is allowed, the
# shared one rejected, site2's dropped.
ALLOWED = {4: "198.51.100.11", 6: "2001:db8:100::11"}
REJECTED = {4: "198.51.100.10", 6: "2001:db8:100::10"}
DROPPED = {4: "198.51.100.12", 6: "2001:db8:100::12"}
DEST = {4: GOOD_V4, 6: GOOD_V6}

# Runs inside the probe namespace: one TCP connect bound to a source address.
CONNECT = """
import socket, sys
src, dst, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET6 if ":" in dst else socket.AF_INET)
s.settimeout(timeout)
s.bind((src, 0))
try:
    s.connect((dst, port))
    print("open")
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("timeout")
"""

# Runs inside the probe namespace: a TLS handshake validated against a CA and a name.
TLS = """
import socket, ssl, sys
src, dst, name, ca = sys.argv[1:5]
ctx = ssl.create_default_context(cafile=ca)
s = socket.create_connection((dst, 636), timeout=5, source_address=(src, 0))
try:
    with ctx.wrap_socket(s, server_hostname=name) as t:
        print("ok", t.getpeercert()["subjectAltName"])
except ssl.SSLCertVerificationError as e:
    print("failed", e.verify_message)
"""


def connect(lab: Lab, src: str, dst: str, port: int, timeout: float = 1.0) -> str:
    proc = lab.exec(
        [sys.executable, "-c", CONNECT, src, dst, str(port), str(timeout)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def tls(lab: Lab, src: str, dst: str, ca: Path, name: str = TLS_NAME) -> str:
    proc = lab.exec(
        [sys.executable, "-c", TLS, src, dst, name, str(ca)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def whoami(lab: Lab, url: str, *, password_file: Path, starttls: bool = False) -> str:
    argv = ["ldapwhoami", "-x", "-H", url, "-D", ACCOUNT, "-y", str(password_file)]
    # One source per family, both allowed by the router; libldap tries the name's v6 first.
    argv += ["-o", f"SOCKET_BIND_ADDRESSES={ALLOWED[4]} {ALLOWED[6]}", "-o", "NETWORK_TIMEOUT=5"]
    if starttls:
        argv.append("-ZZ")
    proc = lab.exec(
        argv,
        env={"LDAPTLS_CACERT": str(lab.ca_file()), "LDAPTLS_REQCERT": "demand"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    return (proc.stdout + proc.stderr).strip()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )


def lab_namespaces(prefix: str) -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    return {line.split()[0] for line in out.stdout.splitlines() if line.startswith(f"{prefix}-")}


def slapd_pids(lab: Lab) -> list[int]:
    """slapd processes started with a config from this lab's state dir."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"slapd" in cmd and str(lab.state_dir).encode() + b"/" in cmd:
            pids.append(int(entry.name))
    return pids


def all_cmdlines() -> bytes:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                out.append((entry / "cmdline").read_bytes())
    return b"\n".join(out)


def assert_gone(lab: Lab) -> None:
    assert lab_namespaces(lab.prefix) == set()
    assert slapd_pids(lab) == []
    assert not lab.state_dir.exists()
    for ns in lab.namespaces:
        assert not (Path("/etc/netns") / ns).exists()
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True)
    assert f" {lab.prefix}-" not in links.stdout


# -- up -------------------------------------------------------------------------------------


def test_up_makes_the_three_namespaces_and_two_slapd(lab: Lab) -> None:
    assert lab_namespaces(lab.prefix) == {
        f"{lab.prefix}-probe",
        f"{lab.prefix}-router",
        f"{lab.prefix}-prov",
    }
    assert len(slapd_pids(lab)) == 2
    st = lab.status()
    assert st.is_up
    assert [s.name for s in st.servers] == ["good", "wrongname"]


def test_probe_namespace_holds_every_pair_address(lab: Lab) -> None:
    argv = ["ip", "-br", "addr", "show", "dev", lab.probe_iface]
    words = lab.exec(argv, capture_output=True, text=True).stdout.split()
    for ip in [*ALLOWED.values(), *REJECTED.values(), *DROPPED.values()]:
        assert f"{ip}/24" in words or f"{ip}/64" in words


def test_service_account_binds_over_ldaps_and_starttls_from_the_allowed_source(lab: Lab) -> None:
    pw = lab.password_file()
    assert oct(pw.stat().st_mode & 0o777) == "0o600"
    assert whoami(lab, f"ldaps://{TLS_NAME}", password_file=pw) == f"dn:{ACCOUNT}"
    assert whoami(lab, f"ldap://{TLS_NAME}", password_file=pw, starttls=True) == f"dn:{ACCOUNT}"


def test_wrong_password_is_invalid_credentials(lab: Lab, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-password")
    assert "Invalid credentials (49)" in whoami(lab, f"ldaps://{TLS_NAME}", password_file=wrong)


@pytest.mark.parametrize("version", [4, 6])
def test_certificates_carry_the_right_name_and_the_wrong_one(lab: Lab, version: int) -> None:
    good = {4: GOOD_V4, 6: GOOD_V6}[version]
    wrong = {4: WRONG_NAME_V4, 6: "2001:db8:203::11"}[version]
    assert tls(lab, ALLOWED[version], good, lab.ca_file()) == f"ok (('DNS', '{TLS_NAME}'),)"
    assert tls(lab, ALLOWED[version], wrong, lab.ca_file()).startswith("failed Hostname mismatch")
    untrusted = tls(lab, ALLOWED[version], good, lab.untrusted_ca_file())
    # slapd sends its CA along; either way the chain does not end at a trusted root.
    assert untrusted in (
        "failed self-signed certificate in certificate chain",
        "failed unable to get local issuer certificate",
    )


@pytest.mark.parametrize("version", [4, 6])
def test_router_allows_rejects_and_drops_as_written(lab: Lab, version: int) -> None:
    dst = DEST[version]
    assert connect(lab, ALLOWED[version], dst, 636) == "open"
    assert connect(lab, ALLOWED[version], dst, 389) == "open"
    started = time.monotonic()
    assert connect(lab, REJECTED[version], dst, 636, timeout=5.0) == "refused"
    assert time.monotonic() - started < 4.0  # refused at once, not after the timeout
    assert connect(lab, DROPPED[version], dst, 636, timeout=1.0) == "timeout"
    # A port no rule mentions meets the DROP policy even from the allowed source.
    assert connect(lab, ALLOWED[version], dst, 3269, timeout=1.0) == "timeout"


def test_inventory_copy_points_at_the_lab_ca(lab: Lab) -> None:
    from auditor.inventory.load import load_inventory

    inventory = load_inventory(lab.inventory_path())
    assert {p.ca_file for p in inventory.providers} == {lab.ca_file()}
    assert lab.ca_file().is_file()


def test_second_up_leaves_one_copy_of_everything_and_no_password_in_output(lab: Lab) -> None:
    password = lab.password_file().read_text()
    rules_before = lab_rules(lab)
    addrs_before = probe_addresses(lab)
    pids_before = sorted(slapd_pids(lab))

    up = cli("lab", "up", str(LAB_SPEC), "--prefix", lab.prefix)
    assert up.returncode == 0, up.stderr
    status = cli("lab", "status", "--prefix", lab.prefix)
    assert status.returncode == 0
    assert f"lab {lab.prefix}: up" in status.stdout
    ran = cli("lab", "exec", "--prefix", lab.prefix, "--", "ip", "-br", "addr")
    assert ran.returncode == 0
    failed = cli("lab", "exec", "--prefix", lab.prefix, "--", "sh", "-c", "exit 7")
    assert failed.returncode == 7

    assert lab.password_file().read_text() == password
    assert lab_rules(lab) == rules_before
    assert probe_addresses(lab) == addrs_before
    assert sorted(slapd_pids(lab)) == pids_before
    assert len(lab_namespaces(lab.prefix)) == 3
    for proc in (up, status, ran, failed):
        assert password not in proc.stdout + proc.stderr
    assert password.encode() not in all_cmdlines()
    for path in lab.state_dir.rglob("*"):
        if path.is_file() and path != lab.password_file():
            assert password.encode() not in path.read_bytes(), path


def lab_rules(lab: Lab) -> list[str]:
    out = []
    for tool in ("iptables", "ip6tables"):
        proc = subprocess.run(
            ["ip", "netns", "exec", lab.router_ns, tool, "-S"],
            capture_output=True,
            text=True,
            check=True,
        )
        out += proc.stdout.splitlines()
    return out


def probe_addresses(lab: Lab) -> list[str]:
    proc = subprocess.run(
        ["ip", "-n", lab.probe_ns, "-o", "addr", "show", "dev", lab.probe_iface],
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted(line.split()[3] for line in proc.stdout.splitlines())


# -- apply ----------------------------------------------------------------------------------


def test_apply_iptables_fragment_opens_the_dropped_source(fresh_lab: Lab, tmp_path: Path) -> None:
    assert connect(fresh_lab, DROPPED[4], GOOD_V4, 636) == "timeout"
    fragment = tmp_path / "fix.rules"
    fragment.write_text(
        f"*filter\n-I FORWARD 2 -s {DROPPED[4]}/32 -d {GOOD_V4}/32 -p tcp -m tcp --dport 636 "
        "-j ACCEPT\nCOMMIT\n"
    )
    ran = cli("lab", "apply", str(fragment), "--prefix", fresh_lab.prefix)
    assert ran.returncode == 0, ran.stderr
    assert "(iptables)" in ran.stdout
    assert connect(fresh_lab, DROPPED[4], GOOD_V4, 636) == "open"
    assert connect(fresh_lab, DROPPED[6], GOOD_V6, 636) == "timeout"

    v6 = tmp_path / "fix6.rules"
    v6.write_text(
        f"*filter\n-I FORWARD 2 -s {DROPPED[6]}/128 -d {GOOD_V6}/128 -p tcp -m tcp --dport 636 "
        "-j ACCEPT\nCOMMIT\n"
    )
    assert fresh_lab.apply(v6) == "ip6tables"
    assert connect(fresh_lab, DROPPED[6], GOOD_V6, 636) == "open"

    # A second `up` restores the base ruleset.
    fresh_lab.up()
    assert connect(fresh_lab, DROPPED[4], GOOD_V4, 636) == "timeout"


def test_nftables_router_behaves_like_the_iptables_one(fresh_nft_lab: Lab, tmp_path: Path) -> None:
    lab = fresh_nft_lab
    rules = subprocess.run(
        ["ip", "netns", "exec", lab.router_ns, "iptables", "-S", "FORWARD"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert "-P FORWARD DROP" not in rules.stdout
    for version in (4, 6):
        assert connect(lab, ALLOWED[version], DEST[version], 636) == "open"
        assert connect(lab, REJECTED[version], DEST[version], 636, timeout=5.0) == "refused"
        assert connect(lab, DROPPED[version], DEST[version], 636) == "timeout"
    script = tmp_path / "fix.nft"
    script.write_text(
        f"insert rule inet {NFT_TABLE} {NFT_CHAIN} ip saddr {DROPPED[4]} ip daddr {GOOD_V4} "
        "tcp dport 636 accept\n"
    )
    assert lab.apply(script) == "nftables"
    assert connect(lab, DROPPED[4], GOOD_V4, 636) == "open"
    assert connect(lab, DROPPED[4], GOOD_V4, 389) == "timeout"


def test_apply_nftables_script_is_loaded(fresh_lab: Lab, tmp_path: Path) -> None:
    # nftables cannot override another table's drop, but its own drop is final: blocking the
    # allowed source proves the script is live in the router.
    script = tmp_path / "block.nft"
    script.write_text(
        "table inet labtest {\n"
        "  chain forward {\n"
        "    type filter hook forward priority -10; policy accept;\n"
        f"    ip saddr {ALLOWED[4]} tcp dport 636 drop\n"
        "  }\n"
        "}\n"
    )
    assert connect(fresh_lab, ALLOWED[4], GOOD_V4, 636) == "open"
    assert fresh_lab.apply(script) == "nftables"
    assert connect(fresh_lab, ALLOWED[4], GOOD_V4, 636) == "timeout"


def test_apply_rejects_a_broken_fragment_with_its_file(fresh_lab: Lab, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text("*filter\n-A FORWARD -s 198.51.100.12 -j NOSUCHTARGET\nCOMMIT\n")
    ran = cli("lab", "apply", str(bad), "--prefix", fresh_lab.prefix)
    assert ran.returncode == 2
    assert ran.stderr.startswith(f"error: {bad}")
    unknown = tmp_path / "notes.txt"
    unknown.write_text("allow everything please\n")
    ran = cli("lab", "apply", str(unknown), "--prefix", fresh_lab.prefix)
    assert ran.returncode == 2
    assert "not a firewall snippet" in ran.stderr


def test_apply_of_a_change_with_nothing_to_allow_loads_nothing(lab: Lab, tmp_path: Path) -> None:
    def ruleset() -> str:
        return lab.exec(["iptables", "-S"], namespace=lab.router_ns, capture_output=True,
                        text=True, check=True).stdout  # fmt: skip

    before = ruleset()
    empty = tmp_path / "iptables.rules"
    empty.write_text("# iptables-restore fragment generated by auditor\n# nothing to allow\n")
    ran = cli("lab", "apply", str(empty), "--prefix", lab.prefix)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout == f"nothing to load in {empty} (comments only)\n"
    assert ruleset() == before


# -- down -----------------------------------------------------------------------------------


def test_down_removes_everything(fresh_lab: Lab) -> None:
    ran = cli("lab", "down", "--prefix", fresh_lab.prefix)
    assert ran.returncode == 0, ran.stderr
    assert_gone(fresh_lab)
    status = cli("lab", "status", "--prefix", fresh_lab.prefix)
    assert status.returncode == 1
    assert f"lab {fresh_lab.prefix}: down" in status.stdout


def test_down_cleans_after_a_crash_with_slapd_killed(fresh_lab: Lab) -> None:
    for pid in slapd_pids(fresh_lab):
        os.kill(pid, signal.SIGKILL)
    assert "partly up" in cli("lab", "status", "--prefix", fresh_lab.prefix).stdout
    Lab(LAB_SPEC, fresh_lab.prefix).down()  # a new process: nothing but the prefix
    assert_gone(fresh_lab)


def test_down_cleans_after_the_state_dir_was_lost(fresh_lab: Lab) -> None:
    import shutil

    assert slapd_pids(fresh_lab)
    shutil.rmtree(fresh_lab.state_dir)  # slapd still running, namespaces still there
    Lab(LAB_SPEC, fresh_lab.prefix).down()
    assert_gone(fresh_lab)


def test_commands_on_a_lab_that_is_not_up_say_so() -> None:
    ran = cli("lab", "exec", "--prefix", "nolab", "--", "true")
    assert ran.returncode == 3
    assert (
        ran.stderr.strip() == "error: lab 'nolab' is not up (run `auditor lab up --prefix nolab`)"
    )
    ran = cli("lab", "up", "--prefix", "Bad-Prefix")
    assert ran.returncode == 2
    assert len(ran.stderr.strip().splitlines()) == 1


def test_servers_may_share_addresses_on_other_ports(tmp_path: Path) -> None:
    # Global catalog ports beside LDAP on the same addresses: a second slapd, other ports.
    text = (
        LAB_SPEC.read_text()
        .replace(
            "    cert_name: wrong-name.lab.example.net",
            "    cert_name: wrong-name.lab.example.net\n"
            "  - name: gc\n"
            '    addresses: [203.0.113.10, "2001:db8:203::10"]\n'
            "    cert_name: ldap.lab.example.com\n"
            "    ldap_port: 3268\n"
            "    ldaps_port: 3269",
        )
        .replace("port: [389, 636]", "port: [389, 636, 3268, 3269]")
    )
    spec = lab_file_copy(tmp_path, text, "gc.yaml")
    the_lab = Lab(spec, prefix=f"g{os.getpid() % 100000}")
    try:
        the_lab.up()
        assert [s.name for s in the_lab.status().servers] == ["gc", "good", "wrongname"]
        for version in (4, 6):
            for port in (389, 636, 3268, 3269):
                assert connect(the_lab, ALLOWED[version], DEST[version], port) == "open"
        assert tls(the_lab, ALLOWED[4], GOOD_V4, the_lab.ca_file()).startswith("ok")
    finally:
        the_lab.down()
    assert_gone(the_lab)
