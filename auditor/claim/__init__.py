"""Claim mode: borrow the pair's free addresses on a segment, safely, to probe from them.

detect (what the kernel offers), arp (RFC 5227 probes), dad (IPv6 duplicate detection),
namespace (one private namespace per claimed address), session (claim, probe, release).
"""

from auditor.claim.detect import ClaimMode, ModeChoice, Parent, choose_mode, inspect_parent
from auditor.claim.namespace import Claim, Claimed, ClaimRequest, InUse
from auditor.claim.runner import in_use_records, probe_with_claim
from auditor.claim.session import claim_session, cleanup_stale, detect_only

__all__ = [
    "Claim",
    "ClaimMode",
    "ClaimRequest",
    "Claimed",
    "InUse",
    "ModeChoice",
    "Parent",
    "choose_mode",
    "claim_session",
    "cleanup_stale",
    "detect_only",
    "in_use_records",
    "inspect_parent",
    "probe_with_claim",
]
