"""A real ``lanterna server`` subprocess on loopback for the ingest tests (``server``); tests
that change the app's module state use ``servers.ServerThread`` instead."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lanterna.store.sql.store import SqlStore
from lanterna.testing.databases import store_uri  # noqa: F401
from lanterna.testing.server import running_server


@dataclass
class Served:
    url: str
    store: SqlStore  # this process's own connection to the server's database


@pytest.fixture(scope="module")
def server(store_uri: str) -> Iterator[Served]:  # noqa: F811
    store = SqlStore(store_uri)
    try:
        with running_server(store_uri) as running:
            yield Served(running.url, store)
    finally:
        store.dispose()
