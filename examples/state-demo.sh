#!/usr/bin/env bash
# The split-brain alarm (called by `make demo`; needs no root): a fake appliance pair, built from
# the vendor's command API contract, serves check_health over real TLS on 127.0.0.1 with both
# appliances claiming the primary role and the shared IP; `auditor state` asks both and raises
# the IP conflict (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."
AUDITOR=${AUDITOR:-.venv/bin/auditor}
PYTHON=${PYTHON:-$(dirname "$AUDITOR")/python}
SCENARIO=${SCENARIO:-split-brain}
WORK=$(mktemp -d)
# Demo credentials of the fake API account: from the environment, as the inventory asks.
export AUDITOR_HEALTH_CLIENT_ID=demo-api-account
AUDITOR_HEALTH_CLIENT_SECRET=$(head -c 18 /dev/urandom | base64)
export AUDITOR_HEALTH_CLIENT_SECRET

fake=""
cleanup() {
    if [ -n "$fake" ]; then kill "$fake" 2>/dev/null || true; wait "$fake" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

printf '\n\033[1m== %s\033[0m\n' "The pair's live state from its health API (fake appliances, scenario: $SCENARIO)"
"$PYTHON" tests/support/fake_appliance.py --scenario "$SCENARIO" "$WORK" &
fake=$!
for _ in $(seq 100); do
    [ -f "$WORK/ready" ] && break
    kill -0 "$fake" 2>/dev/null || { echo "state demo: the fake appliance did not start" >&2; exit 3; }
    sleep 0.1
done
[ -f "$WORK/ready" ] || { echo "state demo: the fake appliance is not ready" >&2; exit 3; }

rc=0
"$AUDITOR" state "$WORK/inventory.yaml" --timeout 5 || rc=$?
expected=1
[ "$SCENARIO" = healthy ] || [ "$SCENARIO" = failed-over ] || [ "$SCENARIO" = stale-sync ] && expected=0
if [ "$rc" -ne "$expected" ]; then
    echo "state demo: expected exit $expected for $SCENARIO, got $rc" >&2
    exit 1
fi
echo "state demo: $SCENARIO detected as expected (exit $rc)"
