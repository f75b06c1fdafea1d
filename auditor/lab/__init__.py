"""The namespace lab: the pair's addresses behind a real netfilter router, in front of a real
slapd, on this machine (root, iproute2). See `auditor lab --help`."""

from auditor.lab.lab import (
    DEFAULT_PREFIX,
    PASSWORD_ENV,
    PREFIX_ENV,
    STATE_ROOT,
    Lab,
    LabStatus,
    ServerStatus,
)
from auditor.lab.router import NFT_CHAIN, NFT_TABLE, SnippetFormat
from auditor.lab.spec import Firewall, LabSpec, load_spec

__all__ = [
    "DEFAULT_PREFIX",
    "NFT_CHAIN",
    "NFT_TABLE",
    "PASSWORD_ENV",
    "PREFIX_ENV",
    "STATE_ROOT",
    "Firewall",
    "Lab",
    "LabSpec",
    "LabStatus",
    "ServerStatus",
    "SnippetFormat",
    "load_spec",
]
