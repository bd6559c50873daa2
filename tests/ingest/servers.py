"""A lanterna server app under uvicorn in a thread of the test process, for tests that change
the app's module state (a real subprocess serves the others: ``conftest.server``)."""

from __future__ import annotations

import threading
import time
from typing import Any

from lanterna.store.sql.store import SqlStore
from lanterna.testing.server import free_port


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
