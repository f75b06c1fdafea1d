"""`ntp`: a mode-3 client request from the bound source; an answer gives stratum and offset,
a server without time (stratum 0 kiss-o'-death, stratum 16, leap 3) is `ntp-unsynchronized`."""

from __future__ import annotations

from auditor.model.inventory import Check
from auditor.model.record import Status
from auditor.probe.app.udp import Request
from auditor.probe.checks.base import Services, Target, UdpAppCheck


def build(target: Target, services: Services) -> Request:
    from auditor.probe.app.ntp import ntp_request  # noqa: PLC0415 - lazily

    return ntp_request()


CHECK = UdpAppCheck(Check.NTP, frozenset({Status.NTP_ANSWERED, Status.NTP_UNSYNCHRONIZED}), build)
