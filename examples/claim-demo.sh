#!/usr/bin/env bash
# The go-live story, on a switched segment lab (as root):
#   before the appliances are connected, the auditor host claims every planned address of the
#   pair and probes the firewall from each; the generated change is applied to the router; the
#   probe is clean; then the live appliance takes its address, and claim mode reports it in use
#   (with its MAC) instead of probing from it.
# Lab: namespaces ${PREFIX}sw (switch), ${PREFIX}au (auditor host, claim parent eth0),
# ${PREFIX}lv (the appliance), ${PREFIX}rt (router), ${PREFIX}pv (provider: SMTP listener).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
AUDITOR=$(realpath "${AUDITOR:-.venv/bin/auditor}")
PREFIX=${DEMO_PREFIX:-i11demo}
OUT=${DEMO_OUT:-reports/claim-demo}
INV=examples/claim-pair.yaml

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
on_host() { nsenter --net="/run/netns/${PREFIX}au" "$AUDITOR" "$@"; }
cleanup() {
    step "Tearing the segment down"
    "$PY" -m auditor.lab.segment down "$PREFIX" || true
}

if [ "$(id -u)" -ne 0 ]; then
    echo "the claim demo needs root: it creates network namespaces and sends ARP probes" >&2
    exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"
trap cleanup EXIT

step "1. The segment: a switch, the auditor host (198.51.100.50), a router with an incomplete ruleset"
"$PY" -m auditor.lab.segment up "$PREFIX"

step "2. Which planned addresses are free? (RFC 5227 ARP probes and IPv6 DAD, nothing announced)"
on_host claim check "$INV" --claim eth0

step "3. Claim every planned address and probe the provider from each (expected: findings, exit 1)"
rc=0
on_host probe "$INV" --claim eth0 --provider mail --timeout 1 -o "$OUT/before.json" || rc=$?
[ "$rc" -eq 1 ] || { echo "demo: expected findings (exit 1), got $rc" >&2; exit 1; }

step "4. The change that admits exactly what was proven blocked, applied to the router"
rc=0
"$AUDITOR" rules "$INV" --results "$OUT/before.json" --only-proven --format iptables \
    -o "$OUT/rules" || rc=$?
[ "$rc" -eq 1 ] || { echo "demo: expected rules (exit 1), got $rc" >&2; exit 1; }
"$PY" -m auditor.lab.segment apply "$PREFIX" "$OUT"/rules/{iptables,iptables.jump,ip6tables,ip6tables.jump}.rules

step "5. Claim and probe again (expected: clean, exit 0)"
on_host probe "$INV" --claim eth0 --provider mail --timeout 1 -o "$OUT/after.json"

step "6. Go-live: the primary appliance takes 198.51.100.11 and 2001:db8:100::11"
"$PY" -m auditor.lab.segment take "$PREFIX" 198.51.100.11/24 2001:db8:100::11/64
rc=0
on_host claim check "$INV" --claim eth0 || rc=$?
[ "$rc" -eq 1 ] || { echo "demo: expected the live addresses in use (exit 1), got $rc" >&2; exit 1; }
# The primary's addresses are in use now: their flows cannot be probed from here, so the
# probe proves the rest and says the run is unproven (exit 4), not compliant.
rc=0
on_host probe "$INV" --claim eth0 --provider mail --timeout 1 -o "$OUT/live.json" || rc=$?
[ "$rc" -eq 4 ] || { echo "demo: expected the in-use flows unproven (exit 4), got $rc" >&2; exit 1; }

step "Results"
echo "before the change: $OUT/before.json; after: $OUT/after.json; after go-live: $OUT/live.json"
