"""The persistence pipeline: outbox -> [relay -> Kafka] -> consumer -> PostgreSQL (DESIGN §5)."""
