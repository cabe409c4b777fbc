#!/bin/sh
# Forms the compose Redis Cluster once: three primaries, two replicas each.
# Safe to run again: a cluster that already serves every slot is left alone.
set -eu

port=6379
nodes=${REDIS_NODES:?list the node hostnames}

for node in $nodes; do
    until redis-cli -h "$node" -p "$port" ping 2>/dev/null | grep -q PONG; do sleep 1; done
done

first=${nodes%% *}
if redis-cli -h "$first" -p "$port" cluster info | grep -q '^cluster_state:ok'; then
    echo "redis cluster already formed"
    exit 0
fi

# CLUSTER MEET takes IP addresses only, so the service names are resolved here; clients
# are still redirected by hostname (cluster-preferred-endpoint-type hostname).
addrs=""
for node in $nodes; do
    ip=$(getent hosts "$node" | awk '{ print $1; exit }')
    addrs="$addrs $ip:$port"
done
# shellcheck disable=SC2086  # one argument per node address
redis-cli --cluster create $addrs --cluster-replicas 2 --cluster-yes

# Done only when every node sees all slots served, so dependents start on a usable cluster.
for node in $nodes; do
    until redis-cli -h "$node" -p "$port" cluster info | grep -q '^cluster_state:ok'; do
        sleep 1
    done
done
echo "redis cluster formed"
