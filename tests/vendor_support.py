"""Shared by the vendor-format tests: read any vendor format back with its reader, and the flows
a plan's inputs say need a rule (computed from the flows and records, not from the plan)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from netaddr import IPAddress
from support.vendor import asa, change_tools, checkpoint, fortigate, panos, request_csv, srx
from support.vendor.common import Flow, Policy

from auditor.model.inventory import Flow as RequiredFlow
from auditor.model.record import ProbeRecord, Status
from auditor.model.verdict import proves_reach
from auditor.render import OutputFormat, RenderOptions, render
from auditor.render.asa import DEFAULT_ACL
from auditor.render.srx import context

VENDOR_FORMATS = (
    OutputFormat.PANOS,
    OutputFormat.FORTIGATE,
    OutputFormat.ASA,
    OutputFormat.CHECKPOINT,
    OutputFormat.SRX,
    OutputFormat.REQUEST_CSV,
    OutputFormat.TUFIN,
    OutputFormat.ALGOSEC,
)


def read_back(fmt: OutputFormat, files: dict[str, str], options: RenderOptions) -> Policy:
    """The policy the files of `fmt` configure, as the vendor's grammar reads them."""
    match fmt:
        case OutputFormat.PANOS:
            (text,) = files.values()
            zones = (options.panos.from_zone, options.panos.to_zone)
            return panos.read(text, options.panos.device_group, zones)
        case OutputFormat.FORTIGATE:
            intf = (options.fortigate.srcintf, options.fortigate.dstintf)
            return fortigate.Device(intf).apply(files).policy()
        case OutputFormat.ASA:
            (text,) = files.values()
            existing = int(options.asa.before) - 1 if options.asa.before else 0
            return asa.read(text, options.asa.acl or DEFAULT_ACL, existing=existing)
        case OutputFormat.CHECKPOINT:
            return checkpoint.read(files, options.checkpoint.layer or "Network")
        case OutputFormat.SRX:
            (text,) = files.values()
            ctx, zones = context(options.srx)
            return srx.read(text, ctx, tuple(zones))
        case OutputFormat.REQUEST_CSV:
            (text,) = files.values()
            return request_csv.read(text)
        case OutputFormat.TUFIN:
            (text,) = files.values()
            return change_tools.read_tufin(text)
        case OutputFormat.ALGOSEC:
            return change_tools.read_algosec(files)
    raise AssertionError(fmt)


DEVICE_FORMATS = VENDOR_FORMATS[:5]  # the request sheets configure no device


def load_changes(fmt: OutputFormat, changes: Sequence[dict[str, str]], options: RenderOptions):
    """The device of `fmt` after loading each change's files in turn, with the format's
    documented loading semantics (tests/support/vendor: `Device`), and the device itself."""
    match fmt:
        case OutputFormat.PANOS:
            zones = (options.panos.from_zone, options.panos.to_zone)
            dev: object = panos.Device(options.panos.device_group, zones)
        case OutputFormat.FORTIGATE:
            dev = fortigate.Device((options.fortigate.srcintf, options.fortigate.dstintf))
        case OutputFormat.ASA:
            dev = asa.Device(options.asa.acl or DEFAULT_ACL)
        case OutputFormat.CHECKPOINT:
            dev = checkpoint.Device()
        case OutputFormat.SRX:
            ctx, zones_ = context(options.srx)
            dev = srx.Device(ctx, tuple(zones_))
        case _:
            raise AssertionError(fmt)
    for files in changes:
        if fmt is OutputFormat.CHECKPOINT:
            dev.run(files)  # type: ignore[attr-defined]
        elif fmt is OutputFormat.FORTIGATE:
            dev.apply(files)  # type: ignore[attr-defined]
        else:
            (text,) = files.values()
            dev.load(text)  # type: ignore[attr-defined]
    if fmt is OutputFormat.CHECKPOINT:
        return dev.policy(options.checkpoint.layer or "Network"), dev  # type: ignore[attr-defined]
    return dev.policy(), dev  # type: ignore[attr-defined]


def render_and_read(plan: object, fmt: OutputFormat, options: RenderOptions) -> Policy:
    return read_back(fmt, render(fmt, plan, options), options)  # type: ignore[arg-type]


def needing_rules(
    flows: Sequence[RequiredFlow], records: Iterable[ProbeRecord], only_proven: bool = False
) -> set[Flow]:
    """Every required flow whose evidence does not prove it reachable (as address integers)."""
    seen: dict[tuple[str, str, str, int], set[Status]] = {}
    for r in records:
        seen.setdefault((r.source, r.destination, str(r.protocol), r.port), set()).add(r.status)
    out: set[Flow] = set()
    for f in flows:
        if not isinstance(f.destination, IPAddress):
            continue  # a host name (--no-resolve): no rule can name it
        if getattr(f, "on_link", False):
            continue  # one connected subnet: no firewall between, no rule
        statuses = seen.get((str(f.source), str(f.destination), f.protocol.value, f.port), set())
        if any(proves_reach(s) for s in statuses):
            continue
        if only_proven and not statuses & {Status.FILTERED, Status.REFUSED, Status.UNREACHABLE}:
            continue
        out.add((f.source.value, f.destination.value, f.protocol.value, f.port))
    return out
