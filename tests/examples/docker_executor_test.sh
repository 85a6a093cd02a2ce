#!/bin/sh
# CTest: examples/approvals/docker-executor.sh against planner-ctl and a stub `docker`.
# usage: docker_executor_test.sh PLANNER_CTL EXECUTOR_SCRIPT
set -eu
ctl=$1
executor=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/actions" "$tmp/bin"
export ACTIONS_DIR="$tmp/actions" PLANNER_STATE_DIR="$tmp/state" EVENTS_DIR="$tmp/events"
export NODE=piha NODE_NAME=solaria PLANNER_CTL="$ctl"

action() {  # id type service status node
    cat >"$tmp/actions/$1.json" <<JSON
{"action_id": "$1", "type": "$2", "node": "$5", "service": "$3", "risk_level": "low",
 "confidence": 0.9, "requires_human": true, "status": "$4",
 "timestamp": "2099-01-01T00:00:00.000Z", "expires_at": "2099-01-02T00:00:00.000Z",
 "source_event": "service_unhealthy", "llm_model": "rules", "llm_attempts": 1,
 "payload": {"action": "restart", "reason": "exited"}, "description": "exited"}
JSON
}
action ok container_restart mosquitto pending piha
action broken container_restart missing pending piha
action waiting container_restart grafana pending piha
action elsewhere container_restart nginx pending chelsty
action tell notify disk pending piha
for id in ok broken elsewhere tell; do "$ctl" approve "$id" --by alice >/dev/null; done

# The stub: restarts anything but "missing", and records what it was asked.
cat >"$tmp/bin/docker" <<'STUB'
#!/bin/sh
echo "$*" >>"$(dirname "$0")/calls"
[ "$2" != missing ] || { echo "Error: No such container: missing" >&2; exit 1; }
echo "$2"
STUB
chmod +x "$tmp/bin/docker"
PATH="$tmp/bin:$PATH" sh "$executor"

status() { jq -r .status "$tmp/actions/$1.json"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
[ "$(status ok)" = succeeded ] || fail "ok is $(status ok)"
[ "$(status broken)" = failed ] || fail "broken is $(status broken)"
[ "$(status waiting)" = pending ] || fail "an unapproved proposal was touched"
[ "$(status elsewhere)" = approved ] || fail "another node's proposal was touched"
[ "$(status tell)" = approved ] || fail "a notify proposal was touched"
jq -r .result "$tmp/actions/broken.json" | grep -q "No such container" || fail "no failure detail"
[ "$(sort "$tmp/bin/calls" | tr '\n' ' ')" = "restart missing restart mosquitto " ] ||
    fail "docker calls: $(cat "$tmp/bin/calls")"
# A second run finds nothing left to do.
PATH="$tmp/bin:$PATH" sh "$executor"
[ "$(wc -l <"$tmp/bin/calls")" -eq 2 ] || fail "the second run restarted again"
[ "$("$ctl" history --json | wc -l)" -eq 8 ] || fail "audit: $("$ctl" history)"
echo "docker executor example: ok"
