"""The store a command works on: ``--uri``, where it is (shown to the user), and its errors."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeGuard

from lanterna.cli.errors import CliError, clean
from lanterna.exceptions import StoreError

if TYPE_CHECKING:
    from lanterna.store.sql.store import SqlStore
    from lanterna.store.uri import AnyStore

_MISSING_DATABASE = re.compile(r'database "(?P<name>[^"]+)" does not exist')


def add_uri_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--uri", metavar="URI",
        help="the store: sqlite:///path/to/file.db, postgresql://user@host:port/database, "
             "memory:// or a lanterna server's http://host:port (default: "
             "LANTERNA_TRACKING_URI, else lanterna.db in this directory)",
    )


def tracking_uri(args: argparse.Namespace) -> str:
    """The URI a command uses: ``--uri`` (refused when lanterna cannot serve it), else the one
    in force."""
    from lanterna.settings import SETTINGS, setting
    from lanterna.store import uri

    wanted: str | None = getattr(args, "uri", None)
    if wanted is None:
        configured = setting("tracking_uri")
        if configured and not uri.supported(configured):
            env = next(s.env for s in SETTINGS if s.name == "tracking_uri")
            raise CliError(f"{env} is {configured!r}, which lanterna cannot read; it stores "
                           f"traces in {uri.SUPPORTED} (unset it or pass --uri)")
        return uri.resolve()
    if not uri.supported(wanted):
        raise CliError(f"cannot use --uri {wanted!r}; lanterna stores traces in {uri.SUPPORTED}")
    return wanted


def location(store: AnyStore) -> str:
    """Where a store is, as the user names it: a file path, a ``postgresql://`` URI or a
    lanterna server's URL."""
    if store.memory:
        return "memory:// (this process only)"
    if store.dialect == "sqlite" and _is_sql(store):
        return str(store.url.database)
    return clean(store.where)


def _is_sql(store: AnyStore) -> TypeGuard[SqlStore]:
    return store.dialect != "http"


def open_store(args: argparse.Namespace, *, must_exist: bool = True) -> AnyStore:
    """The store of ``args``; a SQLite file that is not there is an error unless the command
    creates it."""
    from lanterna.store import uri

    store = uri.get_store(tracking_uri(args))
    if not _is_sql(store):  # a lanterna server: nothing local to check
        return store
    database = str(store.url.database)
    if store.dialect != "sqlite" or store.memory or database.startswith("file:"):
        return store
    if must_exist and not os.path.exists(database):
        raise CliError(f"no database at {database} (traces are stored there once a traced "
                       "program runs; try: lanterna demo)")
    folder = os.path.dirname(database)
    if not os.path.isdir(folder):
        raise CliError(f"no folder {folder} for the database {database}; create it first")
    return store


@contextmanager
def answering(store: AnyStore) -> Iterator[None]:
    """Store failures become one clear line naming the store and, where there is one, the fix."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except (StoreError, SQLAlchemyError) as exc:
        raise CliError(_explain(store, exc)) from exc


def _explain(store: AnyStore, exc: Exception) -> str:
    reason = _root_message(exc)
    missing = _MISSING_DATABASE.search(reason)
    if missing and store.dialect == "postgresql" and _is_sql(store):
        url = store.url
        name = missing.group("name")
        server = f"{url.host or 'localhost'}:{url.port or 5432}"
        user = f" -U {url.username}" if url.username else ""
        return (
            f"database {name!r} does not exist on the PostgreSQL server at {server}; create it "
            f"(createdb -h {url.host or 'localhost'} -p {url.port or 5432}{user} {name}) "
            "and run the command again"
        )
    if isinstance(exc, StoreError):
        return clean(str(exc).replace(store.where, location(store)))
    return f"cannot use the store at {location(store)}: {clean(reason)}"


def _root_message(exc: BaseException) -> str:
    """The driver's own message at the bottom of the chain of causes."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(getattr(exc, "orig", None) or exc)
