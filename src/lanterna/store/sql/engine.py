"""Engines for the SQL store: URL rules, SQLite pragmas and functions, PostgreSQL pooling.

SQLite runs in WAL mode with ``synchronous=NORMAL``; its transactions start explicitly, with
``BEGIN IMMEDIATE`` for writes, so two writers wait for each other (up to the busy timeout)
instead of failing halfway. An in-process ``memory://`` store is one shared SQLite connection.
"""

from __future__ import annotations

import json
import os
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, create_engine, make_url
from sqlalchemy.pool import StaticPool

from lanterna.store.search.patterns import like_match
from lanterna.store.search.rlike import regexp

SQLITE_BUSY_TIMEOUT_SECONDS = 15.0
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
WRITE_OPTION = "lanterna_write"


def _json_dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def sqlalchemy_url(uri: str) -> URL:
    """The SQLAlchemy URL for a tracking URI (``memory://`` is an in-process SQLite)."""
    if uri.startswith("memory:"):
        return make_url("sqlite://")
    url = make_url(uri)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg"):
        return url.set(drivername="postgresql+psycopg")
    database = url.database or ""
    if url.drivername == "sqlite" and database not in ("", ":memory:") and not (
        database.startswith("file:")
    ):
        return url.set(database=os.path.abspath(os.path.expanduser(database)))
    return url


def is_memory(url: URL) -> bool:
    return url.drivername == "sqlite" and url.database in (None, "", ":memory:")


def create(url: URL) -> Engine:
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        raise ImportError(
            "A postgresql:// tracking URI needs psycopg 3: pip install 'lanterna[postgres]'"
        ) from exc
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=2,
        max_overflow=8,
        connect_args={
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS,
            "application_name": "lanterna",
            # No server-side prepared statements: a generic plan ignores how selective the
            # filter's values are, and searches depend on exactly that.
            "prepare_threshold": None,
        },
        json_serializer=_json_dumps,
    )


def _sqlite_engine(url: URL) -> Engine:
    if is_memory(url):
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        args: dict[str, Any] = {}
        if "timeout" not in url.query:
            args["timeout"] = SQLITE_BUSY_TIMEOUT_SECONDS
        engine = create_engine(url, connect_args=args)
    memory = is_memory(url)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # transactions begin explicitly, below
        cursor = dbapi_connection.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA temp_store=MEMORY")
        # SQLite's own page cache stays small (2 MiB, SQLite's default): it lives in the user's
        # process and fills with every page written. Measured with 64 MiB instead: no gain in
        # searches over 100,000 traces, big-trace reads or writes into a 100 MB database (the
        # OS page cache serves those pages), and up to 64 MiB more memory per connection.
        cursor.execute("PRAGMA cache_size=-2048")
        # Checkpoint the WAL less often than every 4 MB: bursts of writes stay cheap.
        cursor.execute("PRAGMA wal_autocheckpoint=8192")
        cursor.close()
        dbapi_connection.create_function("lanterna_like", 3, like_match, deterministic=True)
        dbapi_connection.create_function("regexp", 2, regexp, deterministic=True)  # bounded

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


def driver(connection: Connection) -> Any:
    """The driver's own connection under a SQLAlchemy one (for what SQLAlchemy does not
    offer, such as PostgreSQL's ``COPY``)."""
    found = connection.connection.driver_connection
    if found is None:
        raise RuntimeError("the connection is closed")
    return found
