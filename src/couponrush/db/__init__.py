"""PostgreSQL: the typed repository over the two tables, and the Alembic migrations."""
