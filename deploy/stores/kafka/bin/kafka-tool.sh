#!/bin/sh
# kafka-topics.sh and kafka-broker-api-versions.sh (links to this file): the subset of
# Apache Kafka's tools that compose calls, through the admin client.
# shellcheck disable=SC2086  # the options are words
exec java ${KAFKA_HEAP_OPTS:--Xmx64m} ${KAFKA_LOG4J_OPTS:-} \
    -cp '/opt/kafka/libs/*:/opt/kafka/tools/*' KafkaTool "$(basename "$0" .sh)" "$@"
