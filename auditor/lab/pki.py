"""The lab's test PKI, made with the openssl CLI: a CA, server certificates signed by it, and an
unrelated CA that signed nothing (the "untrusted" case for probes).

P-256 keys: fast to generate, and both slapd's GnuTLS and Python's OpenSSL take them.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.lab.command import run

DAYS = 397  # a year and a month: the longest public TLS certificates live, no expiry warning


def _curve_args(key: Path) -> list[str]:
    return [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(key),
    ]


def make_ca(directory: Path, stem: str, common_name: str) -> Path:
    """A self-signed CA `stem.pem` (+ `stem.key`) in `directory`, unless it exists already."""
    cert = directory / f"{stem}.pem"
    key = directory / f"{stem}.key"
    if cert.is_file() and key.is_file():
        return cert
    run(
        [
            "openssl", "req", "-x509", "-new", *_curve_args(key),
            "-out", str(cert), "-days", str(DAYS), "-subj", f"/CN={common_name}",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        ]
    )  # fmt: skip
    os.chmod(key, 0o600)
    return cert


def make_server_cert(
    directory: Path, stem: str, dns_name: str, ca_cert: Path, ca_key: Path
) -> tuple[Path, Path]:
    """A server certificate whose SAN is `dns_name` (no IP SAN: clients must check the name),
    signed by the CA. Returns (certificate, key); kept if they exist already."""
    cert = directory / f"{stem}.pem"
    key = directory / f"{stem}.key"
    if cert.is_file() and key.is_file():
        return cert, key
    run(
        [
            "openssl", "req", "-x509", "-new", *_curve_args(key),
            "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-out", str(cert), "-days", str(DAYS), "-subj", f"/CN={dns_name}",
            "-addext", f"subjectAltName=DNS:{dns_name}",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "keyUsage=critical,digitalSignature",
            "-addext", "extendedKeyUsage=serverAuth",
        ]
    )  # fmt: skip
    os.chmod(key, 0o600)
    return cert, key
