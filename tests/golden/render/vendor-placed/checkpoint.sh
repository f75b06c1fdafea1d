#!/bin/sh
# Check Point management API (R81): creates or updates the objects and rules of change 355bff
# for site support.example.com from the batch files beside this script, then publishes.
# Run in expert mode on the management server, in the folder of these files (elsewhere, log in
# with `mgmt_cli login user ADMIN -m SERVER` instead of `-r true`). Install the policy after.
# Safe to run again: what exists is set in place, the rest added.
set -eu
session=auditor-355bff.session
work=$(mktemp -d)
mgmt_cli login -r true > "$session"
trap 'mgmt_cli discard -s "$session" >/dev/null 2>&1; mgmt_cli logout -s "$session" >/dev/null 2>&1; rm -f "$session"; rm -rf "$work"' EXIT
touch "$work/existing"
# quiet COMMAND...: its exit status only
quiet() { "$@" < /dev/null > /dev/null 2>&1; }
# sort_rows FILE TYPE [LAYER]: rows of existing names to $work/FILE.set, the rest to FILE.add
sort_rows() {
    head -n 1 "$1" > "$work/$1.add"
    head -n 1 "$1" > "$work/$1.set"
    tail -n +2 "$1" | while IFS= read -r row; do
        name=${row%%,*}
        if quiet mgmt_cli show "$2" name "$name" ${3:+layer "$3"} -s "$session"; then
            echo "$row" >> "$work/$1.set"
            echo "$name" >> "$work/existing"
        else
            echo "$row" >> "$work/$1.add"
        fi
    done
}
# created_only FILE: the member rows of the groups this run created, in $work/FILE
created_only() {
    head -n 1 "$1" > "$work/$1"
    tail -n +2 "$1" | while IFS= read -r row; do
        grep -qxF -- "${row%%,*}" "$work/existing" || echo "$row" >> "$work/$1"
    done
}
# run_batch COMMAND FILE: one mgmt_cli batch, unless FILE holds its header only
run_batch() {
    if [ "$(wc -l < "$2")" -gt 1 ]; then
        mgmt_cli $1 --batch "$2" -s "$session"
    fi
}
sort_rows checkpoint-tags.csv tag
run_batch "add tag" "$work/checkpoint-tags.csv.add"
sort_rows checkpoint-hosts.csv host
run_batch "add host" "$work/checkpoint-hosts.csv.add"
run_batch "set host" "$work/checkpoint-hosts.csv.set"
sort_rows checkpoint-groups.csv group
run_batch "add group" "$work/checkpoint-groups.csv.add"
run_batch "set group" "$work/checkpoint-groups.csv.set"
created_only checkpoint-group-members.csv
run_batch "set group" "$work/checkpoint-group-members.csv"
sort_rows checkpoint-services-tcp.csv service-tcp
run_batch "add service-tcp" "$work/checkpoint-services-tcp.csv.add"
run_batch "set service-tcp" "$work/checkpoint-services-tcp.csv.set"
sort_rows checkpoint-services-udp.csv service-udp
run_batch "add service-udp" "$work/checkpoint-services-udp.csv.add"
run_batch "set service-udp" "$work/checkpoint-services-udp.csv.set"
sort_rows checkpoint-service-groups.csv service-group
run_batch "add service-group" "$work/checkpoint-service-groups.csv.add"
run_batch "set service-group" "$work/checkpoint-service-groups.csv.set"
created_only checkpoint-service-group-members.csv
run_batch "set service-group" "$work/checkpoint-service-group-members.csv"
sort_rows checkpoint-rules.csv access-rule out_in
run_batch "add access-rule" "$work/checkpoint-rules.csv.add"
# an existing rule keeps its place: the position column is left out of `set`
cut -d, -f1,2,4- "$work/checkpoint-rules.csv.set" > "$work/checkpoint-rules.csv.moved"
run_batch "set access-rule" "$work/checkpoint-rules.csv.moved"
mgmt_cli publish -s "$session"
