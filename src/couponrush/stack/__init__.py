"""Local operations only: the one-machine stack (state, programs, supervisord, nginx,
PostgreSQL, the broker), process helpers and readiness. No other room imports this one
but the command line, the load harness, the tests and the benchmarks."""
