#!/bin/sh
# Forms the compose Redis Cluster once: three primaries, two replicas each.
# Safe to run again: a cluster that already serves every slot is left alone.
#   REDIS_NODES   the nodes, each host or host:port (port 6379 by default)
#   REDIS_USER    the user to log in as (users.acl's admin), its password in REDISCLI_AUTH
set -eu

nodes=${REDIS_NODES:?list the node hostnames}
tries=120

cli() {
    redis-cli ${REDIS_USER:+--user "$REDIS_USER"} "$@"
}
host_of() { echo "${1%%:*}"; }
port_of() {
    case $1 in
        *:*) echo "${1##*:}" ;;
        *) echo 6379 ;;
    esac
}
# Waits (a second at a time, $tries times at most) until the node's reply matches.
await() {
    node=$1 pattern=$2
    shift 2
    n=0
    until cli -h "$(host_of "$node")" -p "$(port_of "$node")" "$@" 2>&1 | grep -q "$pattern"; do
        n=$((n + 1))
        if [ "$n" -ge "$tries" ]; then
            echo "redis node $node: no '$pattern' from '$*' after $tries s" >&2
            exit 1
        fi
        sleep 1
    done
}

for node in $nodes; do
    await "$node" PONG ping
done

first=${nodes%% *}
if cli -h "$(host_of "$first")" -p "$(port_of "$first")" cluster info | grep -q '^cluster_state:ok'; then
    echo "redis cluster already formed"
    exit 0
fi

# CLUSTER MEET takes IP addresses only, so the service names are resolved here; clients
# are still redirected by hostname (cluster-preferred-endpoint-type hostname).
addrs=""
for node in $nodes; do
    ip=$(getent hosts "$(host_of "$node")" | awk '{ print $1; exit }')
    addrs="$addrs $ip:$(port_of "$node")"
done
# shellcheck disable=SC2086  # one argument per node address
cli --cluster create $addrs --cluster-replicas 2 --cluster-yes

# Done only when every node sees all slots served, so dependents start on a usable cluster.
for node in $nodes; do
    await "$node" '^cluster_state:ok' cluster info
done
echo "redis cluster formed"
