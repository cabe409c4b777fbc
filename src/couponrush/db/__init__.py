"""PostgreSQL: schema migrations, the local server for tests and the stack, the repository."""
