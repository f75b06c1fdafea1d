"""Claim mode for a pair of a probe bundle (`auditor probe -` at a fleet's probe host): the
same claim, probe and release as `auditor probe --claim`, from the bundle's `claim`."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import Any

from auditor.claim.request import MODES, claim_request
from auditor.claim.runner import probe_with_claim
from auditor.claim.session import claim_session
from auditor.errors import UsageError
from auditor.probe.bundle import BundleClaim, Prober


@contextlib.contextmanager
def bundle_claim(spec: BundleClaim) -> Iterator[tuple[Prober, dict[str, Any]]]:
    """Claim the pair's free addresses on the bundle's interface for the block; the prober
    bound to them and the claim as the results document records it (`meta.options.claim`).
    Every value is checked again here: the bundle came over a wire."""
    if spec.mode is not None and spec.mode not in MODES:
        raise UsageError(f"claim mode {spec.mode!r}: expected one of {', '.join(MODES)}")
    request = claim_request(spec.interface, spec.mode, [str(g) for g in spec.gateways])
    assert request is not None  # an interface is given
    with claim_session(request, spec.addresses) as claim:
        yield functools.partial(probe_with_claim, claim=claim), claim.to_json()
