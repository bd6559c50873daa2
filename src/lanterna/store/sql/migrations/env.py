"""Alembic environment for lanterna's own schema; run by ``lanterna.store.sql.schema``.

The caller passes an open connection in ``config.attributes["connection"]``; the version is kept
in ``lanterna_alembic_version`` so the database can be shared with other Alembic users.
"""

from __future__ import annotations

from alembic import context

VERSION_TABLE = "lanterna_alembic_version"

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    version_table=VERSION_TABLE,
    render_as_batch=True,
    transactional_ddl=True,
)
with context.begin_transaction():
    context.run_migrations()
