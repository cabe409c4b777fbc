"""Redis: every key name, the Lua scripts and their registry, the batcher of the hot path,
the event store, the outbox streams as a source, and the dead letters."""
