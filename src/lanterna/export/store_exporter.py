"""The exporter that writes batches to the store of the tracking URI in force.

The store (and its database driver) is loaded on the export thread at the first batch. A batch
that fails because the store is unreachable or busy is raised back to the pipeline, which
retries it with back-off; writes are idempotent, so a replay stores nothing twice. A batch the
store refuses for its content (a value the database cannot take) is written trace by trace, so
one bad trace never blocks the others; the refused ones are logged and counted.
"""

from __future__ import annotations

from lanterna import _errors

TYPE_CHECKING = False
if TYPE_CHECKING:  # nothing here imports typing at run time (``import lanterna`` stays light)
    from collections.abc import Callable
    from typing import Any

    from lanterna.export.pipeline import Stats
    from lanterna.store.batch import ExportBatch

#: At exit, how long to spend indexing what was just written (the rest is indexed later).
EXIT_INDEX_SECONDS = 1.0


class StoreExporter:
    """``stats``: the counters of the pipeline this exporter serves (a callable, because a
    forked child starts counting afresh)."""

    missing_driver_warned = False

    def __init__(self, stats: Callable[[], Stats]) -> None:
        self._stats = stats

    def export(self, batch: ExportBatch) -> None:
        try:
            self._export(batch)
        except ImportError as exc:  # retrying cannot install a package: say so once, go on
            from lanterna import _log

            self._stats().spans_dropped += len(batch.spans)
            if not self.missing_driver_warned:
                self.missing_driver_warned = True
                _log.warning("lanterna cannot store traces (they stay in memory only): %s",
                             exc)

    def _export(self, batch: ExportBatch) -> None:
        from lanterna.store import uri

        if not batch.destinations:
            self._write(uri.get_store(), batch)
            return
        from lanterna.store.batch import split_by_destination

        for destination, part in split_by_destination(batch).items():
            self._write(uri.get_store(destination), part)

    def _write(self, store: Any, batch: ExportBatch) -> None:
        try:
            store.write_batch(batch)
        except Exception as exc:
            if _is_outage(exc):
                raise
            self._write_trace_by_trace(store, batch)

    def _write_trace_by_trace(self, store: Any, batch: ExportBatch) -> None:
        from lanterna.store.batch import group_by_trace

        for part in group_by_trace(batch):
            try:
                store.write_batch(part)
            except Exception as exc:
                if _is_outage(exc):
                    raise  # the whole batch is retried; parts already written are idempotent
                self._stats().spans_rejected += len(part.spans)
                first = (part.spans or part.finished or part.started)[0]
                try:  # noqa: SIM105  (contextlib is not imported at ``import lanterna``)
                    _errors.report(exc, f"store refused trace {first.trace_id}")
                except Exception:  # raise_internal_errors: counted and logged; a re-raise
                    pass  # here would only make the pipeline retry a batch that cannot succeed

    def idle(self, busy: Callable[[], bool]) -> None:
        """Upkeep while nothing waits to be exported (full-text index, statistics)."""
        from lanterna.store import uri

        for store in uri.open_stores():
            try:
                store.maintain(busy)
            except Exception as exc:  # a busy database: try again next time
                _debug("store upkeep postponed: %s", exc)

    def shutdown(self) -> None:
        from lanterna.store import uri

        for store in uri.open_stores():
            try:
                store.maintain(budget=EXIT_INDEX_SECONDS)
            except Exception as exc:
                _debug("store upkeep postponed: %s", exc)
        uri.dispose_all()


def _is_outage(exc: BaseException) -> bool:
    """Errors worth retrying: the store is unreachable, busy, or not ready."""
    from sqlalchemy import exc as sa_exc

    from lanterna.exceptions import StoreError

    if isinstance(exc, (StoreError, sa_exc.OperationalError, sa_exc.InterfaceError,
                        sa_exc.DisconnectionError, sa_exc.TimeoutError, ConnectionError,
                        TimeoutError)):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def _debug(message: str, *args: object) -> None:
    import logging

    logging.getLogger("lanterna").debug(message, *args)
