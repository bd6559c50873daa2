"""The export pipeline: a bounded queue of finished spans drained by one background worker.

The caller's thread only appends to a deque (and, when the worker sleeps, sets an Event once per
batch). The worker freezes spans, assembles finished traces, and hands batches to exporters.
``flush`` drains on the calling thread, so it never waits on a sleeping worker. After ``fork``
the child starts with an empty queue and its own worker; the parent's spans stay the parent's.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections import deque

from lanterna import _errors, _log
from lanterna.entities.span import LiveSpan
from lanterna.export import assemble
from lanterna.export.compact import pack, unpack

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lanterna.export.base import Exporter
    from lanterna.store.batch import ExportBatch


LINGER_SECONDS = 0.05
DROP_WARNING_INTERVAL = 10.0
MAX_BACKOFF_SECONDS = 2.0
MIN_BACKOFF_SECONDS = 0.05
#: A flush stops waiting once the store has failed for this long (the worker keeps trying).
FLUSH_GIVES_UP_AFTER_FAILING = 3.0
#: How long one worker attempt may retry before it lets go of the drain lock and backs off.
WORKER_ATTEMPT_SECONDS = 5.0
FOREVER = 10.0**9
JOIN_SECONDS = 5.0


class Stats:
    """Counters readable through ``lanterna.tracing.export_stats()``."""

    __slots__ = ("spans_exported", "traces_exported", "spans_dropped", "batches_retried",
                 "export_failures", "spans_rejected")

    def __init__(self) -> None:
        self.spans_exported = 0
        self.traces_exported = 0
        self.spans_dropped = 0  # queue full, or still unexported at exit
        self.batches_retried = 0
        self.export_failures = 0  # failed attempts (each is retried)
        self.spans_rejected = 0  # refused by the store for their content (logged)

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Pipeline:
    def __init__(self, exporters: list[Exporter], max_queue: int, batch_size: int) -> None:
        self.exporters = list(exporters)
        self.max_queue = max_queue
        self.batch_size = batch_size
        self._reset_runtime_state()
        os.register_at_fork(after_in_child=self._after_fork_in_child)

    def _after_fork_in_child(self) -> None:
        """A forked child exports its own spans only, counted from zero, and flushes them when
        it exits: at interpreter exit (atexit) or, for a multiprocessing child that leaves with
        ``os._exit``, through multiprocessing's own exit hook."""
        self._reset_runtime_state()
        import sys

        mp_util = sys.modules.get("multiprocessing.util")
        if mp_util is not None:  # its child bootstrap clears finalizers, then runs after-forkers
            try:
                mp_util.register_after_fork(self, _flush_at_multiprocessing_exit)
            except Exception as exc:
                _errors.report(exc, "fork setup")

    def _reset_runtime_state(self) -> None:
        self.stats = Stats()
        self._queue: deque[LiveSpan | tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._drain_lock = threading.RLock()
        self._sleeping = True
        self._thread: threading.Thread | None = None
        self._last_drop_warning = 0.0
        self._last_failure_warning = 0.0
        self._failing_since: float | None = None
        self._pending_retry: tuple[ExportBatch, list[Exporter]] | None = None

    # -- caller's thread ------------------------------------------------------------------
    def put(self, span: LiveSpan) -> None:
        queue = self._queue
        if len(queue) >= self.max_queue:
            self._drop(1)
            return
        queue.append(pack(span))
        if self._sleeping:
            self._sleeping = False
            self._kick()

    def _kick(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="lanterna-export", daemon=True
            )
            self._thread.start()
        self._wake.set()

    def _drop(self, count: int) -> None:
        self.stats.spans_dropped += count
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_INTERVAL:
            self._last_drop_warning = now
            _log.warning(
                "lanterna dropped spans: the export queue is full (%d spans; %d dropped so far). "
                "The store is too slow or unreachable; raise LANTERNA_EXPORT_QUEUE_SIZE or check "
                "the store.", self.max_queue, self.stats.spans_dropped,
            )

    # -- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = MIN_BACKOFF_SECONDS
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if self._stopping.wait(LINGER_SECONDS):
                break
            done = False
            try:
                # A bounded attempt: while the store fails, the drain lock is released between
                # tries, so a flush on another thread is never stuck behind the worker.
                done = self.drain(time.monotonic() + WORKER_ATTEMPT_SECONDS)
                if done:
                    backoff = MIN_BACKOFF_SECONDS
                    self._idle()
            except Exception as exc:  # drain already guards exporters; this is a last resort
                _errors.report(exc, "export worker")
            if not done and self._pending_retry is not None:
                if self._stopping.wait(backoff):
                    break
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                self._wake.set()
                continue
            self._sleeping = True
            if self._queue:
                self._sleeping = False
                self._wake.set()

    def _idle(self) -> None:
        """Upkeep an exporter does while nothing waits (``idle(busy)``, e.g. indexing); it
        stops as soon as ``busy()`` says spans are queued again."""
        for exporter in self.exporters:
            idle = getattr(exporter, "idle", None)
            if idle is not None and not self._busy():
                idle(self._busy)

    def _busy(self) -> bool:
        return bool(self._queue) or self._stopping.is_set()

    def drain(self, deadline: float | None = None) -> bool:
        """Export everything queued so far; True when nothing is left."""
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._drain_lock.acquire(timeout=wait):
            return False  # the worker holds it, retrying a store that is down
        try:
            while True:
                if self._pending_retry is not None:
                    if not self._deliver(*self._pending_retry, deadline):
                        return False
                    continue
                batch = self._take_batch()
                if not batch:
                    return True
                if not self._deliver(batch, list(self.exporters), deadline):
                    return False
        finally:
            self._drain_lock.release()

    def _take_batch(self) -> ExportBatch:
        from lanterna.store.batch import ExportBatch  # on the worker: not at ``import lanterna``

        batch = ExportBatch()
        queue = self._queue
        for _ in range(min(len(queue), self.batch_size)):
            live = queue.popleft()
            if isinstance(live, tuple):  # a trace of one span (see export.compact)
                trace, span = unpack(live)
                trace.finished.append(span)
                batch.spans.append(span)
                if trace.destination is not None:
                    batch.destinations[trace.trace_id] = trace.destination
                batch.finished.append(assemble.finished_trace(trace, span))
                continue
            trace = live._trace
            span = live.to_immutable_span()
            trace.finished.append(span)
            batch.spans.append(span)
            if trace.destination is not None:
                batch.destinations[trace.trace_id] = trace.destination
            if live is trace.root:
                batch.finished.append(assemble.finished_trace(trace, span))
                trace.root = None  # ended and exported: let reference counting free the pair
            elif not trace.announced and not trace.ended:
                trace.announced = True
                batch.started.append(assemble.in_progress_info(trace))
        return batch

    def _deliver(
        self, batch: ExportBatch, targets: list[Exporter], deadline: float | None
    ) -> bool:
        """Hands the batch to each target exporter, retrying the ones that fail with back-off
        until ``deadline`` (or until the pipeline stops). Returns False if it gave up; the
        batch then stays pending and is retried first next time."""
        delay = MIN_BACKOFF_SECONDS
        while True:
            targets = [e for e in targets if not self._export_one(e, batch)]
            if not targets:
                break
            self._pending_retry = (batch, targets)
            self.stats.batches_retried += 1
            if deadline is not None and self._give_up(deadline, delay):
                return False
            if self._stopping.wait(delay):
                return False
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        self._pending_retry = None
        if self._failing_since is not None:
            _log.warning("lanterna export recovered after %.1f s of failures.",
                         time.monotonic() - self._failing_since)
            self._failing_since = None
        self.stats.spans_exported += len(batch.spans)
        self.stats.traces_exported += len(batch.finished)
        return True

    def _give_up(self, deadline: float, delay: float) -> bool:
        """An attempt stops retrying at its deadline, or as soon as the store has been failing
        for a while: a dead store must not block the program, at exit or anywhere else. The
        worker then backs off and tries again; a flush returns False."""
        now = time.monotonic()
        failing_for = now - self._failing_since if self._failing_since is not None else 0.0
        return now + delay > deadline or failing_for > FLUSH_GIVES_UP_AFTER_FAILING

    def _export_one(self, exporter: Exporter, batch: ExportBatch) -> bool:
        try:
            exporter.export(batch)
            return True
        except Exception as exc:
            self.stats.export_failures += 1
            now = time.monotonic()
            if self._failing_since is None:
                self._failing_since = now
            if now - self._last_failure_warning >= DROP_WARNING_INTERVAL:
                self._last_failure_warning = now
                _log.warning(
                    "lanterna could not export a batch to %s (retrying with back-off; spans "
                    "wait in the queue, up to LANTERNA_EXPORT_QUEUE_SIZE): %s",
                    type(exporter).__name__, exc,
                )
            return False

    # -- lifecycle ---------------------------------------------------------------------------
    def flush(self, timeout: float | None = 30.0) -> bool:
        """Export what is queued, on the calling thread; False if it gave up (see _give_up)."""
        deadline = time.monotonic() + (FOREVER if timeout is None else timeout)
        try:
            return self.drain(deadline)
        except Exception as exc:
            _errors.report(exc, "flush")
            return False

    def shutdown(self, timeout: float = 30.0) -> None:
        done = self.flush(timeout)
        if not done:
            lost = len(self._queue) + (
                len(self._pending_retry[0].spans) if self._pending_retry else 0
            )
            self.stats.spans_dropped += lost
            _log.warning("lanterna could not export %d spans before exit.", lost)
        self._stopping.set()
        self._wake.set()
        worker = self._thread
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=JOIN_SECONDS)  # let its upkeep step finish before the exit
        for exporter in self.exporters:
            try:
                exporter.shutdown()
            except Exception as exc:
                _errors.report(exc, "exporter shutdown")

    def queued(self) -> int:
        return len(self._queue)


def _flush_at_multiprocessing_exit(pipeline: Pipeline) -> None:
    import multiprocessing.util

    multiprocessing.util.Finalize(pipeline, pipeline.shutdown, exitpriority=10)


def register_atexit(pipeline: Pipeline) -> None:
    atexit.register(pipeline.shutdown)
