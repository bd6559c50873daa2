"""The exporter that writes batches to the store of the tracking URI in force.

The store (and its database driver) is loaded on the export thread at the first batch. A batch
that fails because the store is unreachable or busy is raised back to the pipeline, which
retries it with back-off; writes are idempotent, so a replay stores nothing twice. A batch the
store refuses for its content (a value the database cannot take) is written trace by trace, so
one bad trace never blocks the others; the refused ones are logged and counted.
"""

from __future__ import annotations

from lanterna import _errors
from lanterna.export.pipeline import Unstored, store_answered

TYPE_CHECKING = False
if TYPE_CHECKING:  # nothing here imports typing at run time (``import lanterna`` stays light)
    from collections.abc import Callable
    from typing import Any

    from lanterna.store.batch import ExportBatch

#: At exit, how long to spend indexing what was just written (the rest is indexed later).
EXIT_INDEX_SECONDS = 1.0


class StoreExporter:
    missing_driver_warned = False

    def export(self, batch: ExportBatch) -> Unstored | None:
        """Writes the batch; returns what could not be stored (None: everything was)."""
        remove_hook = _imports_are_progress()
        try:
            _listen_for_answers()
            return self._export(batch)
        except ImportError as exc:  # retrying cannot install a package: say so once, go on
            from lanterna import _log

            if not self.missing_driver_warned:
                self.missing_driver_warned = True
                _log.warning("lanterna cannot store traces (they stay in memory only): %s",
                             exc)
            return Unstored(dropped=len(batch.spans))
        finally:
            remove_hook()

    def _export(self, batch: ExportBatch) -> Unstored | None:
        from lanterna.store import uri

        if not batch.destinations:
            return self._write(uri.get_store(), batch)
        from lanterna.store.batch import split_by_destination

        rejected = 0
        for destination, part in split_by_destination(batch).items():
            outcome = self._write(uri.get_store(destination), part)
            rejected += outcome.rejected if outcome is not None else 0
        return Unstored(rejected=rejected) if rejected else None

    def _write(self, store: Any, batch: ExportBatch) -> Unstored | None:
        _check_file_still_there(store)
        try:
            store.write_batch(batch)
            return None
        except Exception as exc:
            if _is_outage(exc):
                raise
            return self._write_trace_by_trace(store, batch)

    def _write_trace_by_trace(self, store: Any, batch: ExportBatch) -> Unstored | None:
        """Writes around what the store refuses: trace by trace, and a refused trace again
        with its spans degraded (values kept as escaped text, with a note); only what the store
        refuses even then is counted as rejected."""
        from lanterna.store.batch import group_by_trace

        rejected = 0
        for part in group_by_trace(batch):
            try:
                store.write_batch(part)
                continue
            except Exception as exc:
                if _is_outage(exc):
                    raise  # the whole batch is retried; parts already written are idempotent
                reason = f"{type(exc).__name__}: {exc}"
            try:
                store.write_batch(_degraded(part, reason))
                _warn_degraded(part, reason)
                continue
            except Exception as exc:
                if _is_outage(exc):
                    raise
                rejected += len(part.spans)
                first = (part.spans or part.finished or part.started)[0]
                try:  # noqa: SIM105  (contextlib is not imported at ``import lanterna``)
                    _errors.report(exc, f"store refused trace {first.trace_id}")
                except Exception:  # raise_internal_errors: counted and logged; a re-raise
                    pass  # here would only make the pipeline retry a batch that cannot succeed
        return Unstored(rejected=rejected) if rejected else None

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


_listening: list[bool] = []


class _ImportsAreProgress:
    """While the store loads (its first use imports SQLAlchemy, Alembic, a driver: seconds on a
    busy machine), each module imported tells a waiting flush that the worker is not stuck."""

    def find_spec(self, *_args: object) -> None:
        store_answered()


def _imports_are_progress() -> Callable[[], None]:
    """Installs ``_ImportsAreProgress``; returns what removes it."""
    import sys

    hook = _ImportsAreProgress()
    sys.meta_path.insert(0, hook)  # type: ignore[arg-type]
    return lambda: sys.meta_path.remove(hook)  # type: ignore[arg-type]


def _listen_for_answers() -> None:
    """Every connection made and statement answered tells a waiting flush the store is alive
    (a slow schema creation is not a hung database)."""
    if _listening:
        return
    _listening.append(True)
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "engine_connect", store_answered)
    event.listen(Engine, "after_cursor_execute", store_answered)


def _is_outage(exc: BaseException) -> bool:
    """Errors worth retrying: the store is unreachable, busy, not ready, or not a database
    (a file that is not SQLite, a corrupt or deleted one): nothing a span's content causes."""
    from sqlalchemy import exc as sa_exc

    from lanterna.exceptions import StoreError

    if isinstance(exc, (StoreError, sa_exc.OperationalError, sa_exc.InterfaceError,
                        sa_exc.DisconnectionError, sa_exc.TimeoutError, ConnectionError,
                        TimeoutError, OSError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    message = str(getattr(exc, "orig", None) or exc).lower()
    return any(sign in message for sign in _NOT_A_DATABASE)


_NOT_A_DATABASE = ("file is not a database", "database disk image is malformed",
                   "no such table", "readonly database", "disk i/o error",
                   "database or disk is full")


def _check_file_still_there(store: Any) -> None:
    """A SQLite file deleted under an open connection still takes writes, into a file nobody
    can open again: an outage, not a success. The engine is closed so the next attempt
    creates the file afresh."""
    if getattr(store, "dialect", None) != "sqlite" or getattr(store, "memory", True):
        return
    if not getattr(store, "connected", False):
        return
    import os

    database = store.url.database or ""
    if database and not database.startswith("file:") and not os.path.exists(database):
        from lanterna.exceptions import StoreError

        store.dispose()
        raise StoreError(f"the SQLite file {database} was deleted while lanterna was writing "
                         "to it; it is created again")


def _degraded(part: ExportBatch, reason: str) -> ExportBatch:
    from lanterna.entities.trace import Trace, TraceData
    from lanterna.store.batch import ExportBatch
    from lanterna.store.sql.storable import degraded_span

    degraded = ExportBatch()
    degraded.started = list(part.started)
    degraded.spans = [degraded_span(span, reason) for span in part.spans]
    by_id = {span.span_id: span for span in degraded.spans}
    degraded.finished = [
        Trace(info=trace.info, data=TraceData(
            spans=[by_id.get(s.span_id) or degraded_span(s, reason) for s in trace.data.spans]))
        for trace in part.finished
    ]
    degraded.destinations = dict(part.destinations)
    return degraded


def _warn_degraded(part: ExportBatch, reason: str) -> None:
    from lanterna import _log

    first = (part.spans or part.finished or part.started)[0]
    _log.warning("lanterna: the store refused the values of %d spans of trace %s (%s); they "
                 "are stored as escaped text with a note (attribute lanterna.degraded).",
                 len(part.spans), first.trace_id, reason[:300])


def _debug(message: str, *args: object) -> None:
    import logging

    logging.getLogger("lanterna").debug(message, *args)
