"""Tracking URIs: which store traces go to, and the one store object per URI.

``sqlite:///path`` (default ``sqlite:///lanterna.db`` in the working directory), ``postgresql://…``
and ``memory://`` (kept in this process only). A URI lanterna cannot serve, such as
``databricks`` or (for now) ``http(s)://``, gets one warning naming the supported ones and the
default store is used, so the program keeps running.

This module imports no database code; the store is built on first use.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from lanterna import _log
from lanterna.exceptions import MlflowException
from lanterna.settings import setting

if TYPE_CHECKING:
    from lanterna.store.sql.store import SqlStore

DEFAULT_URI = "sqlite:///lanterna.db"
SUPPORTED = "sqlite:///path/to/file.db, postgresql://user@host:port/database, memory://"
_SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")

_explicit: str | None = None
_stores: dict[str, SqlStore] = {}
_warned: set[str] = set()
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
    _explicit = uri or None


def get_tracking_uri() -> str:
    """The tracking URI in force: set_tracking_uri, else LANTERNA_TRACKING_URI, else the default."""
    return _explicit or setting("tracking_uri") or DEFAULT_URI


def supported(uri: str) -> bool:
    if uri.startswith("memory:"):
        return True
    scheme, sep, _ = uri.partition("://")
    return bool(sep) and scheme.lower() in _SQL_SCHEMES


def resolve(uri: str | None = None) -> str:
    """The URI to use: ``uri`` (or the one in force) if lanterna can serve it, else the default
    store (with one warning per unsupported URI)."""
    wanted = get_tracking_uri() if uri is None else str(uri)
    if supported(wanted):
        return wanted
    if wanted not in _warned:
        _warned.add(wanted)
        if wanted.startswith(("http://", "https://")):
            reason = "sending traces to a lanterna server (http(s):// URIs) is not supported yet"
        else:
            reason = "lanterna cannot store traces there"
        _log.warning(
            "Tracking URI %r: %s. Supported: %s. Using %s instead.",
            wanted, reason, SUPPORTED, DEFAULT_URI,
        )
    return DEFAULT_URI


def get_store(uri: str | None = None) -> SqlStore:
    """The store for ``uri`` (default: the tracking URI in force), created once per process."""
    resolved = resolve(uri)
    key = _key(resolved)
    store = _stores.get(key)
    if store is None:
        with _lock:
            store = _stores.get(key)
            if store is None:
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
    """Relative SQLite paths name a file in the working directory of the moment."""
    if uri.startswith("memory:"):
        return "memory://"
    prefix = "sqlite:///"
    if uri.startswith(prefix) and not uri.startswith(prefix + "/"):
        path, sep, query = uri[len(prefix) :].partition("?")
        if path and not path.startswith(("file:", ":memory:")):
            return prefix + os.path.abspath(os.path.expanduser(path)) + sep + query
    return uri


def open_stores() -> list[SqlStore]:
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
