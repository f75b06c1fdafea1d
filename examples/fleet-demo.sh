#!/usr/bin/env bash
# The fleet story (run by `make fleet-demo`, as root): two sites, three pairs, one alert.
#   site "branch": the lab pair, probed at its site over SSH (a real sshd inside the lab's
#     probe namespace, host key checked against a known_hosts file);
#   site "office": two pairs whose probes were made elsewhere and arrive as evidence files.
# Night 1 finds the lab's firewall gaps and sends one message (to an SMTP receiver on
# loopback); the generated iptables fragments are applied; night 2 is compliant for the lab
# pair: with --notify-on drift it sends nothing (no drift that matters; the default, findings,
# would tell the office's pairs again, whose findings persist). The fleet report is written
# after each night.
set -euo pipefail
cd "$(dirname "$0")/.."
AUDITOR=${AUDITOR:-.venv/bin/auditor}
PY=${PY:-.venv/bin/python}
OUT=${DEMO_OUT:-reports/fleet-demo}
PREFIX=${DEMO_PREFIX:-fafleet}
TIMEOUT=${DEMO_TIMEOUT:-1}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() {
    step "Stopping sshd, the mail receiver and the lab"
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    "$AUDITOR" lab down --prefix "$PREFIX" || true
}
# The on-call mailbox: how many messages, and the newest one's subject and text.
mailbox() {
    "$PY" - "$OUT/mailbox" "$1" <<'PYEOF'
import mailbox, sys
box = mailbox.Maildir(sys.argv[1], create=False) if len(sys.argv) > 1 else None
msgs = sorted(box, key=lambda m: m["Date"] or "") if box is not None else []
if sys.argv[2] == "count":
    print(len(msgs))
else:
    m = msgs[-1]
    print("Subject:", m["Subject"])
    for part in m.walk():
        if part.get_content_type() == "text/plain":
            print(part.get_payload(decode=True).decode())
PYEOF
}
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

if [ "$(id -u)" -ne 0 ]; then
    echo "make fleet-demo needs root: the lab creates network namespaces, runs slapd and sshd" >&2
    exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT/ssh"
OUT=$(cd "$OUT" && pwd)

step "1. The lab (the branch site's pair), an sshd in its probe namespace, a mail receiver"
trap cleanup EXIT
"$AUDITOR" lab up --prefix "$PREFIX" -q
NS="$PREFIX-probe"
ssh-keygen -q -t ed25519 -N "" -C "" -f "$OUT/ssh/host_key"
ssh-keygen -q -t ed25519 -N "" -C "" -f "$OUT/ssh/id_fleet"
cp "$OUT/ssh/id_fleet.pub" "$OUT/ssh/authorized_keys"
SSH_PORT=$(free_port)
MAIL_PORT=$(free_port)
cat > "$OUT/ssh/sshd_config" <<EOF
Port 22
ListenAddress 127.0.0.1
HostKey $OUT/ssh/host_key
PidFile $OUT/ssh/sshd.pid
AuthorizedKeysFile $OUT/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
EOF
echo "[127.0.0.1]:$SSH_PORT $(cat "$OUT/ssh/host_key.pub")" > "$OUT/ssh/known_hosts"
mkdir -p /run/sshd
ip -n "$NS" link set lo up
ip netns exec "$NS" /usr/sbin/sshd -f "$OUT/ssh/sshd_config" -D -e 2>"$OUT/ssh/sshd.log" &
pids+=($!)
socat "TCP-LISTEN:$SSH_PORT,bind=127.0.0.1,reuseaddr,fork" \
    "EXEC:ip netns exec $NS socat STDIO TCP\:127.0.0.1\:22" &
pids+=($!)
"$PY" -m aiosmtpd -n -l "127.0.0.1:$MAIL_PORT" -c aiosmtpd.handlers.Mailbox "$OUT/mailbox" \
    >"$OUT/smtpd.log" 2>&1 &
pids+=($!)
sleep 1

step "2. The office's two pairs, probed there earlier (their results documents are the evidence)"
LAB_INV=/run/auditor-lab/$PREFIX/inventory.yaml
for pair in alpha beta; do
    sed "s/name: lab.example.com/name: $pair.example.com/" "$LAB_INV" > "$OUT/$pair.yaml"
    "$AUDITOR" lab exec --prefix "$PREFIX" -- auditor probe "$OUT/$pair.yaml" -q \
        --timeout "$TIMEOUT" -o "$OUT/$pair.results.json" >/dev/null || true
done
cat > "$OUT/fleet.yaml" <<EOF
notify:
  - mailto://127.0.0.1:$MAIL_PORT?mode=insecure&from=auditor@example.com&to=oncall@example.com
sites:
  - name: branch
    probe_host: ssh://root@127.0.0.1:$SSH_PORT
    ssh_key: ssh/id_fleet
    known_hosts: ssh/known_hosts
    auditor: $(cd "$(dirname "$AUDITOR")" && pwd)/auditor
    pairs:
      - inventory: $LAB_INV
  - name: office
    pairs:
      - inventory: alpha.yaml
        evidence: alpha.results.json
      - inventory: beta.yaml
        evidence: beta.results.json
EOF
cat "$OUT/fleet.yaml"
AUDITOR_BIND_PASSWORD=$(cat "/run/auditor-lab/$PREFIX/bind-password")
export AUDITOR_BIND_PASSWORD

step "3. Night 1: the fleet run (expected: findings, exit 1, and one message)"
rc=0
"$AUDITOR" fleet run "$OUT/fleet.yaml" -o "$OUT/night1" --store "$OUT/history.sqlite" \
    --timeout "$TIMEOUT" || rc=$?
if [ "$rc" -ne 1 ]; then
    echo "fleet-demo: expected findings (exit 1) on night 1, got $rc" >&2
    exit 1
fi
sleep 1
echo "-- the on-call mailbox received $(mailbox count) message:"
mailbox show

step "4. Apply the lab pair's generated iptables fragments to the lab router"
snippets=()
for name in iptables.rules iptables.jump.rules ip6tables.rules ip6tables.jump.rules; do
    f="$OUT/night1/branch/lab.example.com/rules/$name"
    if [ -f "$f" ]; then snippets+=("$f"); fi
done
"$AUDITOR" lab apply --prefix "$PREFIX" "${snippets[@]}"

step "5. Night 2: the lab pair is compliant; the office's evidence is unchanged (--notify-on drift: no message)"
before=$(mailbox count)
rc=0
"$AUDITOR" fleet run "$OUT/fleet.yaml" -o "$OUT/night2" --store "$OUT/history.sqlite" \
    --timeout "$TIMEOUT" --notify-on drift || rc=$?
sleep 1
after=$(mailbox count)
echo "messages received: $after (night 2 sent $((after - before)))"

step "6. The fleet report"
"$AUDITOR" fleet report --store "$OUT/history.sqlite" -o "$OUT/report" || true
echo "fleet report: $OUT/report/index.html (and fleet.json, junit.xml)"
echo "night 2's own report: $OUT/night2/index.html"
