#!/bin/sh
# Check Point management API (R80.10+): creates the objects and rules of change 355bff
# for site support.example.com from the batch files beside this script, then publishes.
# Run in expert mode on the management server, in the folder of these files (elsewhere, log in
# with `mgmt_cli login user ADMIN -m SERVER` instead of `-r true`). Install the policy after.
set -eu
session=auditor-355bff.session
mgmt_cli login -r true > "$session"
trap 'mgmt_cli discard -s "$session" >/dev/null 2>&1; mgmt_cli logout -s "$session" >/dev/null 2>&1; rm -f "$session"' EXIT
mgmt_cli add host --batch checkpoint-hosts.csv -s "$session"
mgmt_cli add network --batch checkpoint-networks.csv -s "$session"
mgmt_cli add group --batch checkpoint-groups.csv -s "$session"
mgmt_cli set group --batch checkpoint-group-members.csv -s "$session"
mgmt_cli add service-tcp --batch checkpoint-services-tcp.csv -s "$session"
mgmt_cli add service-udp --batch checkpoint-services-udp.csv -s "$session"
mgmt_cli add service-group --batch checkpoint-service-groups.csv -s "$session"
mgmt_cli set service-group --batch checkpoint-service-group-members.csv -s "$session"
mgmt_cli add access-rule --batch checkpoint-rules.csv -s "$session"
mgmt_cli publish -s "$session"
