#!/bin/sh
# The approval page in headless Chromium against a real planner-run and redis-server: one
# proposal is made from a published event, approve.mjs approves it through the page.
# Usage: run.sh PLANNER_RUN [SCREENSHOT.png]   (CTest: tests/CMakeLists.txt)
set -eu
planner_run=$1
screenshot=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
redis_pid=
planner_pid=
cleanup() {
    [ -n "$planner_pid" ] && kill "$planner_pid" 2>/dev/null || true
    [ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

fail() {
    echo "run.sh: $*" >&2
    [ -f "$tmp/planner.stderr" ] && tail -n 20 "$tmp/planner.stderr" >&2
    exit 1
}

# Waits up to 20 s for the command to succeed.
wait_for() {
    i=0
    until "$@"; do
        i=$((i + 1))
        [ "$i" -lt 200 ] || return 1
        sleep 0.1
    done
}

# A free loopback port for redis-server (node is here anyway).
redis_port=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => {
    console.log(s.address().port); s.close(); });')
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp" >"$tmp/redis.log" 2>&1 &
redis_pid=$!
redis_up() { redis-cli -p "$redis_port" PING >/dev/null 2>&1; }
wait_for redis_up || fail "redis-server did not start"

cat >"$tmp/planner.yaml" <<YAML
topology:
  nodes:
    piha:
      description: Raspberry Pi with the MQTT broker
      services:
        mosquitto: {}
rules:
  human_only_services: ["*/mosquitto"]
models:
  - spec: rules
YAML
head -c 24 /dev/urandom | base64 >"$tmp/http.token"
"$planner_run" --config "$tmp/planner.yaml" --redis "redis://127.0.0.1:$redis_port/0" \
    --actions-dir "$tmp/actions" --events-dir "$tmp/events" --state-dir "$tmp/state" \
    --node test --http-listen 127.0.0.1:0 --http-token-file "$tmp/http.token" \
    2>"$tmp/planner.stderr" &
planner_pid=$!
wait_for grep -q '"event":"http_listening"' "$tmp/planner.stderr" || fail "no http_listening line"
port=$(sed -n 's/.*"event":"http_listening".*"port":\([0-9]*\).*/\1/p' "$tmp/planner.stderr")
[ -n "$port" ] || fail "no port in the http_listening line"

event='{"type":"service_unhealthy","node":"piha","service":"mosquitto","severity":"error","message":"broker <b>down</b>"}'
published() { [ "$(redis-cli -p "$redis_port" PUBLISH health_events "$event")" = 1 ]; }
wait_for published || fail "planner-run did not subscribe"
has_proposal() { [ -n "$(ls "$tmp/actions" 2>/dev/null)" ]; }
wait_for has_proposal || fail "no proposal was written"

node "$here/approve.mjs" "http://127.0.0.1:$port/" "$tmp/http.token" "$tmp/actions" $screenshot
grep -q '"to":"approved"' "$tmp/state/audit.jsonl" || fail "no audit line for the approval"
if grep -q "$(cat "$tmp/http.token")" "$tmp/planner.stderr"; then fail "the token was logged"; fi
