"""Bringing a database to the schema this lanterna knows: check fast, migrate when needed.

Every process checks the revision once per store (one small query). A database without
lanterna's tables, or at an older revision, is migrated with Alembic under a lock (SQLite's
write lock, a PostgreSQL advisory lock), so processes starting together migrate once. A
database at a revision this code does not know was migrated by a newer lanterna: that is a
``SchemaTooNewError``, never a guess.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, Engine

from lanterna.exceptions import SchemaTooNewError
from lanterna.store.sql.engine import WRITE_OPTION

VERSION_TABLE = "lanterna_alembic_version"
#: Revisions in order; the last is the head. A test checks it against the migration scripts.
REVISIONS: tuple[str, ...] = ("0001", "0002", "0003")
HEAD = REVISIONS[-1]
MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK = 0x6C616E7465726E61  # "lanterna"


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    row = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).first()
    return None if row is None else str(row[0])


def check(revision: str | None, where: str) -> bool:
    """True when the schema is current; False when it needs migrating; raises when too new."""
    if revision == HEAD:
        return True
    if revision is not None and revision not in REVISIONS:
        raise SchemaTooNewError(
            f"The lanterna database at {where} has schema revision {revision!r}, which this "
            f"lanterna does not know (it knows up to {HEAD!r}): a newer lanterna created it. "
            "Upgrade lanterna (pip install -U lanterna) or point it at another database."
        )
    return False


def ensure(engine: Engine, where: str) -> str:
    """Migrate the database to the head revision if it is behind; returns the revision."""
    with engine.connect() as connection:
        revision = current_revision(connection)
        connection.rollback()
    if check(revision, where):
        return HEAD
    return upgrade(engine, where)


def upgrade(engine: Engine, where: str) -> str:
    from alembic import command
    from alembic.config import Config

    with (
        engine.connect().execution_options(**{WRITE_OPTION: True}) as connection,
        connection.begin(),
    ):
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK})
        revision = current_revision(connection)  # another process may have migrated
        if not check(revision, where):
            config = Config()
            config.set_main_option("script_location", str(MIGRATIONS))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    return HEAD
