"""The store's upkeep for what the server ingests: full-text indexing and planner statistics.

The SDK's export thread does this when it is idle; a server has no such moment, so a thread
does it every ``INTERVAL_SECONDS``, for at most ``BUDGET_SECONDS`` at a time (each step is a
short transaction, so ingest waits little). Several workers, or several servers on one
database, may all run it: the steps never index a span twice (see ``store.sql.fulltext``).
"""

from __future__ import annotations

import logging
import threading

from lanterna._threads import start_thread
from lanterna.store.sql.store import SqlStore

INTERVAL_SECONDS = 1.0
BUDGET_SECONDS = 0.25

_log = logging.getLogger("lanterna.server")


class Upkeep:
    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="lanterna-upkeep", daemon=True)
        start_thread(self._thread)  # process signals stay with the main thread

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.wait(INTERVAL_SECONDS):
            try:
                self.store.maintain(budget=BUDGET_SECONDS)
            except Exception as exc:  # a store that is down: the requests already say so
                _log.debug("store upkeep postponed: %s", exc)
