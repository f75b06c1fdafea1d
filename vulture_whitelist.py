# Names vulture (`make lint`) cannot see used, each with where it is used. A name used only by
# tests does not belong here: it moves to tests/support or goes.
# ruff: noqa
# fmt: off

# Called by click or by a protocol, not by our code.
_.list_commands  # click.Group, auditor/cli/app.py
_.get_command  # click.Group, auditor/cli/app.py
audit  # click commands, named in the command table (auditor/cli/app.py COMMANDS)
cleanup
history
schedule
exec_
signum  # signal handler signature, auditor/claim/session.py
exc_type  # context manager __exit__ signature, auditor/probe/journal.py
componentType  # pyasn1 reads it, auditor/probe/app/kerberos.py
intercepted_binops  # jinja2's sandbox reads it, auditor/render/sandbox.py
kinds  # click command, named in the command table (auditor/cli/app.py COMMANDS)

# Called by name: an inventory key's check (auditor/inventory/spec.py CHECKS, sections.read_keys).
_.boolean

# Read by the jinja2 templates (templates/).
_.lowest  # report/trend templates
enabled_anywhere  # report templates (auditor/report/view.py)
symbol
warn
last_sync
site_description
inventory_source
verdict_text
expiry_warn_days
remark  # templates/vendor/asa.*.j2
src_set  # templates/nftables*.j2
dst_set

# Fields of a document or a wire format: written and read by the codec, or laid out on the wire.
tool_version  # the results document (auditor/model/results.py)
appliance_id  # the appliance's health document (auditor/health/document.py)
asked  # the live state document (auditor/model/livestate.py: run.json, state --format json)
last_sync_age_seconds
target_mac  # an ARP packet (auditor/claim/arp.py)
requires  # check metadata: the check a check builds on (tests/test_registry.py holds it)
_.requires
APP_FAILED  # a member of the plan's flow verdict vocabulary (auditor/model/verdict.py)
OUT  # a member of Direction (auditor/render/options.py)
DESCRIPTION_MAX  # PAN-OS's documented limit, beside NAME_MAX (auditor/render/panos.py)
dad_transmits  # a claim namespace setting (auditor/claim/namespace.py)

# The lab is rehearsal and test equipment: its helpers serve the lab tests.
_.untrusted_ca_file
_.router_neighbour
_.nsenter

_.srcaddr  # FortiPolicy fields read by templates/vendor/fortigate.conf.j2
_.dstaddr

# Alembic reads these from each migration script (auditor/history/migrations/versions/).
revision
down_revision
branch_labels
depends_on
downgrade  # `alembic downgrade`, by hand
_.isolation_level  # sqlite3 connection attribute, set in auditor/history/store.py

# PAN-OS (auditor/policy): members read from a configuration by value, and expat's handlers.
RESET_SERVER  # Action("reset-server"), auditor/policy/panos/rules.py
INTERZONE  # RuleType("interzone"), auditor/policy/panos/rules.py
_.StartElementHandler  # set on the expat parser, auditor/policy/panos/xmlsource.py
_.EndElementHandler
