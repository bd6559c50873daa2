"""Tracking URIs: which store traces go to, and the one store object per URI.

``sqlite:///path`` (default ``sqlite:///lanterna.db`` in the working directory), ``postgresql://…``,
``memory://`` (kept in this process only) and ``http(s)://host:port`` (a lanterna server:
``store/rest.py``). A URI lanterna cannot serve, such as ``databricks``, gets one warning naming
the supported ones and the default store is used, so the program keeps running.

A relative SQLite path (the default's included) is made absolute once per process, against the
working directory of its first use: a later ``os.chdir`` does not split traces across two files.

This module imports no database code; the store is built on first use.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

from lanterna import _log
from lanterna.exceptions import MlflowException
from lanterna.settings import setting

if TYPE_CHECKING:
    from lanterna.store.rest import RestStore
    from lanterna.store.sql.store import SqlStore

    AnyStore: TypeAlias = SqlStore | RestStore

DEFAULT_URI = "sqlite:///lanterna.db"
SUPPORTED = ("sqlite:///path/to/file.db, postgresql://user@host:port/database, memory://, "
             "http://host:port (a lanterna server)")
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
_SERVER_SCHEMES = ("http", "https")

_explicit: str | None = None
_stores: dict[str, AnyStore] = {}
_warned: set[str] = set()
_absolute: dict[str, str] = {}  # relative SQLite URI -> the absolute one fixed at first use
_lock = threading.Lock()


def set_tracking_uri(uri: str | Path | None) -> None:
    """Where traces go from now on (None: back to ``LANTERNA_TRACKING_URI`` or the default)."""
    global _explicit
    if uri is not None and not isinstance(uri, (str, Path)):
        raise MlflowException(
            f"set_tracking_uri takes a string such as {DEFAULT_URI!r}, got {type(uri).__name__}."
        )
    if isinstance(uri, Path):
        uri = "sqlite:///" + str(uri.expanduser().resolve())
    if uri:
        absolute(uri)  # a relative SQLite path names a file in today's working directory
    _explicit = uri or None


def get_tracking_uri() -> str:
    """The tracking URI in use, as written: the one asked for (set_tracking_uri, else
    LANTERNA_TRACKING_URI) if lanterna can serve it, else the default it falls back to."""
    wanted = _explicit or setting("tracking_uri") or DEFAULT_URI
    return wanted if supported(wanted) else DEFAULT_URI


def supported(uri: str) -> bool:
    if uri.startswith("memory:"):
        return True
    scheme, sep, _ = uri.partition("://")
    return bool(sep) and scheme.lower() in _SQL_SCHEMES + _SERVER_SCHEMES


def is_server(uri: str) -> bool:
    """True for a lanterna server's URI (``http(s)://``)."""
    return uri.partition("://")[0].lower() in _SERVER_SCHEMES


def absolute(uri: str) -> str:
    """``uri`` with a relative SQLite path resolved against the working directory, the same
    way for the whole process (the first resolution is kept)."""
    known = _absolute.get(uri)
    if known is not None:
        return known
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri.startswith(prefix + "/"):
        return uri
    path, sep, query = uri[len(prefix) :].partition("?")
    if not path or path.startswith(("file:", ":memory:")):
        return uri
    return _absolute.setdefault(
        uri, prefix + os.path.abspath(os.path.expanduser(path)) + sep + query
    )


def resolve(uri: str | None = None) -> str:
    """The URI to connect to: ``uri`` (or the one asked for) if lanterna can serve it, else the
    default store (with one warning per unsupported URI); relative SQLite paths made absolute."""
    wanted = (_explicit or setting("tracking_uri") or DEFAULT_URI) if uri is None else str(uri)
    if supported(wanted):
        return absolute(wanted)
    if wanted not in _warned:
        _warned.add(wanted)
        _log.warning(
            "Tracking URI %r: lanterna cannot store traces there. Supported: %s. Using %s "
            "instead.", wanted, SUPPORTED, absolute(DEFAULT_URI),
        )
    return absolute(DEFAULT_URI)


def get_store(uri: str | None = None) -> AnyStore:
    """The store for ``uri`` (default: the tracking URI in force), created once per process."""
    resolved = resolve(uri)
    key = _key(resolved)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None and is_server(resolved):
                from lanterna.store.rest import RestStore

                store = _stores[key] = RestStore(resolved)
            elif store is None:
                try:
                    from lanterna.store.sql.store import SqlStore
                except ImportError as exc:
                    raise ImportError(
                        "lanterna's trace store needs SQLAlchemy and Alembic: "
                        "pip install 'lanterna[store]' (for PostgreSQL: 'lanterna[postgres]')"
                    ) from exc
                store = _stores[key] = SqlStore(resolved)
    return store


def _key(uri: str) -> str:
    if is_server(uri):
        return uri.rstrip("/")
    return "memory://" if uri.startswith("memory:") else absolute(uri)


def open_stores() -> list[AnyStore]:
    """The stores this process has connected to."""
    return [store for store in list(_stores.values()) if store.connected]


def dispose_all() -> None:
    """Close every store's connections (tests; a changed database between runs)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
    for store in stores:
        store.dispose()


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()
    for store in list(_stores.values()):
        store.after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
