"""Active probes: every required flow checked from its own source address, by the checks
of the registry (`auditor.probe.checks`). Import the submodules; this package stays light so
that commands which never probe do not pay for ssl, asyncio and ldap3 at start-up."""
