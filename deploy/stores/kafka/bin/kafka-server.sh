#!/bin/sh
# The broker, configured from the environment as apache/kafka is: every KAFKA_X_Y other
# than the JVM's own options becomes x.y in server.properties (__ is _, ___ is -).
set -eu
config=/opt/kafka/config/server.properties
: >"$config"
env | sort | while IFS='=' read -r name value; do
    case $name in
        KAFKA_HEAP_OPTS | KAFKA_OPTS | KAFKA_LOG4J_OPTS | KAFKA_JVM_PERFORMANCE_OPTS) ;;
        KAFKA_*)
            key=$(echo "${name#KAFKA_}" | tr 'A-Z' 'a-z' | sed 's/___/-/g; s/__/@/g; s/_/./g; s/@/_/g')
            printf '%s=%s\n' "$key" "$value" >>"$config"
            ;;
    esac
done
run() {
    # shellcheck disable=SC2086  # the options are words
    exec java ${KAFKA_HEAP_OPTS:-} ${KAFKA_LOG4J_OPTS:-} ${KAFKA_OPTS:-} -cp '/opt/kafka/libs/*' "$@"
}
if [ ! -f "${KAFKA_LOG_DIRS:-/var/lib/kafka/data}/meta.properties" ]; then
    (run kafka.tools.StorageTool format -t "${CLUSTER_ID:?}" -c "$config" --ignore-formatted)
fi
run kafka.Kafka "$config"
