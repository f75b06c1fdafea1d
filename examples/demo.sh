#!/usr/bin/env bash
# The whole story on the example lab (run by `make demo`, as root):
#   lint and flows of the example pair; the lab up; an audit that finds the firewall gaps;
#   the generated iptables fragments applied to the lab router; a second audit that is
#   compliant; the drift between the two; where the reports are; the lab down again.
set -euo pipefail
cd "$(dirname "$0")/.."
AUDITOR=${AUDITOR:-.venv/bin/auditor}
OUT=${DEMO_OUT:-reports/demo}
TIMEOUT=${DEMO_TIMEOUT:-1}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
cleanup() {
    step "Tearing the lab down"
    "$AUDITOR" lab down || true
}

if [ "$(id -u)" -ne 0 ]; then
    echo "make demo needs root: the lab creates network namespaces and runs slapd" >&2
    exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"

step "1. Lint the example pair (examples/pair.yaml) and list the flows its firewall must allow"
"$AUDITOR" check examples/pair.yaml
"$AUDITOR" flows examples/pair.yaml

step "2. The lab (examples/lab.yaml, around the pair of examples/lab-inventory.yaml): the pair's addresses, a router with an incomplete ruleset, two slapd"
trap cleanup EXIT
"$AUDITOR" lab up

step "3. Audit the lab pair (expected: findings, exit 1)"
rc=0
"$AUDITOR" lab exec -- auditor audit examples/lab-inventory.yaml --timeout "$TIMEOUT" \
    --store "$OUT/history.sqlite" -o "$OUT/before" || rc=$?
if [ "$rc" -ne 1 ]; then
    echo "demo: expected the first audit to find gaps (exit 1), it exited $rc" >&2
    exit 1
fi

step "4. Apply the generated iptables fragments to the lab router (the rehearsal of the ticket)"
snippets=()
for name in iptables.rules iptables.jump.rules ip6tables.rules ip6tables.jump.rules; do
    if [ -f "$OUT/before/rules/$name" ]; then snippets+=("$OUT/before/rules/$name"); fi
done
"$AUDITOR" lab apply "${snippets[@]}"

step "5. Audit again, against the first run (expected: compliant, exit 0)"
"$AUDITOR" lab exec -- auditor audit examples/lab-inventory.yaml --timeout "$TIMEOUT" \
    --store "$OUT/history.sqlite" -o "$OUT/after" --baseline "$OUT/before/run.json"

step "6. What changed between the two runs"
"$AUDITOR" drift examples/lab-inventory.yaml --store "$OUT/history.sqlite" --baseline "$OUT/before/run.json"
"$AUDITOR" history --store "$OUT/history.sqlite"

step "Reports"
echo "HTML report after the change:  $OUT/after/report.html"
echo "HTML report before the change: $OUT/before/report.html"
echo "change ticket for the firewall team: $OUT/before/rules/ticket.md"
