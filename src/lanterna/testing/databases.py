"""Real databases for tests: a fresh SQLite file or a fresh PostgreSQL database per use.

``LANTERNA_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``) names a
server and a database to connect to for creating and dropping throw-away databases. When the
server cannot be reached the PostgreSQL case is skipped, except with ``CI=true``, where it fails:
CI must not pass by skipping.

Use from a test module::

    from lanterna.testing.databases import store_uri  # noqa: F401  (a pytest fixture)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
ENGINES = ("sqlite", "postgresql")


def postgres_url() -> str:
    return os.environ.get("LANTERNA_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL


def _admin_connect() -> Any:
    import psycopg

    return psycopg.connect(postgres_url(), autocommit=True, connect_timeout=5)


def require_postgres() -> None:
    """Skip the calling test when PostgreSQL is unreachable (fail instead when CI=true)."""
    try:
        _admin_connect().close()
    except Exception as exc:
        message = f"PostgreSQL at {postgres_url()} is unreachable: {exc}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: the PostgreSQL tests must run)")
        pytest.skip(message)


@contextmanager
def temporary_postgres_database(prefix: str = "lanterna_test") -> Iterator[str]:
    """A new, empty database on the test server; dropped afterwards. Yields its URI."""
    import psycopg
    from psycopg import sql

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with _admin_connect() as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = psycopg.conninfo.conninfo_to_dict(postgres_url())
    base["dbname"] = name
    user = base.get("user", "postgres")
    host = base.get("host", "127.0.0.1")
    port = base.get("port", 5432)
    password = f":{base['password']}" if base.get("password") else ""
    try:
        yield f"postgresql://{user}{password}@{host}:{port}/{name}"
    finally:
        from lanterna.store import uri

        uri.dispose_all()
        with _admin_connect() as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@contextmanager
def database(engine: str, directory: Path) -> Iterator[str]:
    """A fresh database of ``engine`` ("sqlite" or "postgresql"); yields its tracking URI."""
    if engine == "sqlite":
        try:
            yield f"sqlite:///{directory / 'lanterna.db'}"
        finally:
            from lanterna.store import uri

            uri.dispose_all()
        return
    require_postgres()
    with temporary_postgres_database() as url:
        yield url


@pytest.fixture(scope="module", params=[
    "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
])
def store_uri(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database per test module, once on SQLite and once on PostgreSQL."""
    with database(request.param, tmp_path_factory.mktemp("store")) as uri:
        yield uri


@pytest.fixture
def store_experiment(store_uri: str) -> Iterator[str]:
    """Points lanterna at ``store_uri`` with a new experiment for this test; yields its id."""
    import lanterna

    lanterna.set_tracking_uri(store_uri)
    try:
        yield lanterna.set_experiment(f"test-{uuid.uuid4().hex[:12]}").experiment_id
    finally:
        lanterna.flush_trace_async_logging()
        lanterna.set_tracking_uri(None)
