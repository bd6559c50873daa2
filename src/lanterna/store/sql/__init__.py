"""One SQL store for SQLite and PostgreSQL: SQLAlchemy Core tables, Alembic migrations."""
