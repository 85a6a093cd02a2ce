#!/bin/sh
# Runs `docker restart` for this node's approved container_restart proposals (docs/approvals.md).
# Run it from cron or a systemd timer; planner-ctl takes care of locking, audit and events.
set -eu
CTL=${PLANNER_CTL:-planner-ctl}
NODE=${NODE:-$(hostname)}
BY=${EXECUTOR_NAME:-docker-executor@$NODE}

"$CTL" list --status approved --json |
    jq -r --arg node "$NODE" \
        'select(.type == "container_restart" and .node == $node) | [.action_id, .service] | @tsv' |
    while IFS="$(printf '\t')" read -r id service; do
        # start is the claim: if another executor got there first it exits 1 and we move on.
        "$CTL" start "$id" --by "$BY" >/dev/null || continue
        if out=$(docker restart "$service" 2>&1); then
            "$CTL" finish "$id" --result succeeded --detail "$out" --by "$BY"
        else
            "$CTL" finish "$id" --result failed --detail "$out" --by "$BY"
        fi
    done
