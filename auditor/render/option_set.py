"""Every format's render options in one value, as the CLI builds them from its flags: the shared
part, the host path, and each renderer's own options (declared beside the renderer that reads
them). Built once and checked at once: every bad value is one line of one UsageError."""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.errors import UsageError
from auditor.plan import Plan
from auditor.render.asa import AsaOptions
from auditor.render.change_tools import TufinOptions
from auditor.render.checkpoint import CheckpointOptions
from auditor.render.fortigate import FortigateOptions
from auditor.render.iptables import IptablesOptions
from auditor.render.names import ChangeNames, change_names
from auditor.render.nftables import NftOptions
from auditor.render.options import HostPath, SharedOptions
from auditor.render.panos import PanosOptions
from auditor.render.srx import SrxOptions
from auditor.render.ticket import TicketOptions


@dataclass(frozen=True, slots=True)
class RenderOptions:
    shared: SharedOptions = field(default_factory=SharedOptions)
    host: HostPath = field(default_factory=HostPath)
    iptables: IptablesOptions = field(default_factory=IptablesOptions)
    nftables: NftOptions = field(default_factory=NftOptions)
    panos: PanosOptions = field(default_factory=PanosOptions)
    fortigate: FortigateOptions = field(default_factory=FortigateOptions)
    asa: AsaOptions = field(default_factory=AsaOptions)
    checkpoint: CheckpointOptions = field(default_factory=CheckpointOptions)
    srx: SrxOptions = field(default_factory=SrxOptions)
    tufin: TufinOptions = field(default_factory=TufinOptions)
    ticket: TicketOptions = field(default_factory=TicketOptions)

    def __post_init__(self) -> None:
        problems = [
            *self.panos.problems(),
            *self.fortigate.problems(),
            *self.asa.problems(),
            *self.checkpoint.problems(),
            *self.srx.problems(),
            *self.shared.problems(),
            *self.ticket.problems(),
            *self.host.problems(),
            *self.iptables.problems(),
            *self.ticket.text_problems(),
            *self.shared.text_problems(),
            *self.tufin.problems(),
            *self.nftables.problems(),
        ]
        if problems:
            # a flag several formats read (--before, the zones, --acl) is named once
            raise UsageError("\n".join(dict.fromkeys(problems)))

    def names(self, plan: Plan) -> ChangeNames:
        """The names `plan`'s change goes by with these options."""
        return change_names(
            plan,
            chain=self.iptables.chain,
            nft_table=self.nftables.table_name,
            nft_chain=self.nftables.chain,
            hook=self.host.hook,
        )
