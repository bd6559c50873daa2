"""Real lanterna servers on loopback for the ingest tests: ``lanterna server`` as a subprocess
(``server``), or the app under uvicorn in a thread of this process (``ServerThread``) where a
test changes the app's module state."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from lanterna.store.sql.store import SqlStore
from lanterna.testing.databases import store_uri  # noqa: F401
from lanterna.testing.server import free_port, running_server


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


class ServerThread:
    """``create_app(store_uri, **options)`` served by uvicorn on a free loopback port."""

    def __init__(self, store_uri: str, **options: Any) -> None:  # noqa: F811
        import uvicorn

        from lanterna.server.app import create_app

        self.app = create_app(store_uri, **options)
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def store(self) -> SqlStore:
        return self.app.state.lanterna.store  # type: ignore[no-any-return]

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
