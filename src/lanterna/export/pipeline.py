"""The export pipeline: a bounded queue of finished spans drained by one background worker.

The caller's thread only appends to a deque (and, when the worker sleeps, sets an Event once per
batch). The worker freezes spans, assembles finished traces, and hands batches to exporters.

Every wait is bounded. A flush (explicit, before a read, at exit, on SIGTERM) asks the worker to
hurry and waits for it, so a store that hangs inside a call (a socket that never answers, a
SQLite file locked by another process) holds up the worker, never the caller: the flush gives up
once the store has made no progress for ``GIVE_UP_SECONDS`` since the flush started.

The counters always add up: every span handed to ``put`` is, at any moment, exactly one of
exported, queued, in flight (taken by the worker, being written or retried), dropped or rejected.
After ``fork`` the child starts with an empty queue and its own worker; the parent's spans stay
the parent's.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from lanterna import _errors, _log
from lanterna._threads import start_thread
from lanterna.entities.span import LiveSpan
from lanterna.export import assemble
from lanterna.export.compact import CHILD_FIELDS, pack, unpack, unpack_child
from lanterna.export.spool import CHUNK, Spool

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from lanterna.entities.live_trace import LiveTrace
    from lanterna.export.base import Exporter
    from lanterna.store.batch import ExportBatch


LINGER_SECONDS = 0.05
DROP_WARNING_INTERVAL = 10.0
MAX_BACKOFF_SECONDS = 2.0
MIN_BACKOFF_SECONDS = 0.05
#: A flush stops waiting once the store has made no progress for this long since the flush
#: started (the worker keeps trying in the background).
GIVE_UP_SECONDS = 3.0
#: ... or, for a store that is slow rather than stuck, this many times as long as it took to
#: write the last batch (at most ``SLOW_STORE_CAP_SECONDS``).
SLOW_STORE_FACTOR = 3.0
SLOW_STORE_CAP_SECONDS = 30.0
#: How long one worker attempt may retry before it lets go of the drain lock and backs off.
WORKER_ATTEMPT_SECONDS = 5.0
FOREVER = 10.0**9
#: How long ``fork`` waits for a store write (or driver import) under way to finish.
FORK_WAIT_SECONDS = 5.0
#: While traces wait in the spool, a batch holds at most ``memory_queue // SPOOL_BATCH_SHARE``
#: spans (at least one chunk of the spool): the batch in flight is most of what the worker holds
#: in memory. Smaller batches drain a backlog more slowly (each SQLite commit rewrites the index
#: pages it touched): by default 256 traces a batch, 5,700-6,500 single-span traces/s against
#: 9,400-11,500 in batches of 10,000, measured; a bigger LANTERNA_EXPORT_MEMORY_QUEUE buys speed
#: with memory.
SPOOL_BATCH_SHARE = 8
#: Past this many spans waiting in memory, child spans wait packed as well (``export.compact``):
#: a backlog that long outlives the collector's young generations, and each live span in it
#: would be scanned by every full collection, on whichever thread (the caller's too) starts it.
PACK_CHILDREN_AFTER = 1024
#: At exit, how long the worker may take to finish its upkeep step once the queue is empty.
JOIN_SECONDS = 1.0


_answered_at = [0.0]
#: Called when the main thread's outermost flush ends: ``_lifecycle`` acts there on a SIGTERM
#: that interrupted the flush (flushing again from the handler would wait for the lock the
#: interrupted flush holds).
MAIN_THREAD_FLUSH_ENDED: list[Callable[[], None]] = []


def store_answered(*_args: object, **_kwargs: object) -> None:
    """The store answered something (a connection, a statement): it is slow, not stuck. A
    flush waiting for a long write keeps waiting while this happens."""
    _answered_at[0] = time.monotonic()


class _WorkerClock:
    """The export thread's CPU time: a write that keeps it busy (a big batch, a starved
    machine) is slow, not stuck; one blocked on a socket or a lock uses no CPU."""

    SAMPLE_SECONDS = 0.5
    BUSY_SECONDS = 0.01  # CPU used since the last sample that counts as working

    def __init__(self, thread: threading.Thread | None) -> None:
        self._clock: int | None = None
        self._last = 0.0
        try:
            if thread is not None and thread.ident is not None:
                self._clock = time.pthread_getcpuclockid(thread.ident)
                self._last = time.clock_gettime(self._clock)
        except (AttributeError, OSError, ValueError):  # not on this platform, thread gone
            self._clock = None

    def advanced(self) -> bool:
        if self._clock is None:
            return False
        try:
            used = time.clock_gettime(self._clock)
        except OSError:
            self._clock = None
            return False
        busy = used - self._last >= self.BUSY_SECONDS
        self._last = used
        return busy


class Stats:
    """Counters readable through ``lanterna.tracing.export_stats()``."""

    __slots__ = ("spans_exported", "traces_exported", "spans_dropped", "batches_retried",
                 "export_failures", "spans_rejected", "in_flight")

    def __init__(self) -> None:
        self.spans_exported = 0
        self.traces_exported = 0
        self.spans_dropped = 0  # queue full, or still unexported when exit gave up
        self.batches_retried = 0
        self.export_failures = 0  # failed attempts (each is retried)
        self.spans_rejected = 0  # refused by the store for their content (logged)
        self.in_flight = 0  # taken from the queue, being written or waiting for a retry

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


class Unstored:
    """What an exporter returns when some spans of a batch will never be stored (refused for
    their content, or no driver to store them with): the pipeline counts them as rejected or
    dropped instead of exported. Returning None means the whole batch was delivered."""

    __slots__ = ("rejected", "dropped")

    def __init__(self, rejected: int = 0, dropped: int = 0) -> None:
        self.rejected = rejected
        self.dropped = dropped


class Pipeline:
    def __init__(self, exporters: list[Exporter], max_queue: int, batch_size: int,
                 memory_queue: int | None = None) -> None:
        self.exporters = list(exporters)
        self.max_queue = max_queue
        self.batch_size = batch_size
        #: Spans kept in memory while they wait; past it, traces of one span wait in the spool.
        self.memory_queue = max_queue if memory_queue is None else min(memory_queue, max_queue)
        self.spool_batch = max(CHUNK, self.memory_queue // SPOOL_BATCH_SHARE)
        self._reset_runtime_state()

    def before_fork(self) -> None:
        """Waits (bounded) until no exporter runs, and holds them off until the fork is done."""
        self._held_for_fork = self._exporting.acquire(timeout=FORK_WAIT_SECONDS)

    def after_fork_in_parent(self) -> None:
        if self._held_for_fork:
            self._held_for_fork = False
            self._exporting.release()

    def after_fork_in_child(self) -> None:
        """A forked child exports its own spans only, counted from zero."""
        self._spool.close()  # the child's copy of the parent's file descriptor
        self._reset_runtime_state()

    def _reset_runtime_state(self) -> None:
        self.stats = Stats()
        self._queue: deque[LiveSpan | tuple[Any, ...]] = deque()
        self._spool = Spool()  # beside the queue: traces of one span, once it is full
        #: The records of traces whose child spans wait packed, by trace id (dropped when the
        #: worker takes the trace's root).
        self._packed_traces: dict[str, LiveTrace] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._drain_lock = threading.RLock()
        # Held while an exporter runs (a store write, the first import of a database driver):
        # ``fork`` waits for it, so a child never inherits a half-done import or transaction.
        self._exporting = threading.Lock()
        self._held_for_fork = False
        # Guards the counters, the queue's hand-over to the worker, and wakes flushes waiting
        # for progress.
        self._state = threading.Condition(threading.Lock())
        # Spans the worker took from the queue and from the spool, ever; and of those, spans
        # counted as exported, rejected or dropped (the two lines are flushed each in order).
        self._taken = [0, 0]
        self._settled = [0, 0]
        self._from_spool: dict[int, int] = {}  # id(batch) -> how many of its spans
        self._urgent = False  # a flush waits: skip the linger
        self._abandoned = False  # exit gave up on what was left: count nothing twice
        #: Flushes (and spool seals) under way on the main thread: a signal handler interrupting
        #: one of them runs while it holds ``_state`` (see ``MAIN_THREAD_FLUSH_ENDED``).
        self.main_thread_flushing = 0
        self._sleeping = True
        self._thread: threading.Thread | None = None
        self._last_drop_warning = 0.0
        self._last_failure_warning = 0.0
        self._failing_since: float | None = None
        self._pending_retry: tuple[ExportBatch, list[Exporter]] | None = None
        self._last_batch_seconds = 0.0  # how long the store took to write the last batch

    # -- caller's thread ------------------------------------------------------------------
    def put(self, span: LiveSpan) -> None:
        queue = self._queue
        if len(queue) >= self.memory_queue:
            spool = self._spool
            if len(queue) + spool.count >= self.max_queue:
                if span is span._trace.root:  # no root will come to forget the trace's record
                    self._packed_traces.pop(span._trace_id, None)
                self._drop(1)
                return
            packed = pack(span, self._packed_traces)
            if packed.__class__ is not tuple or len(packed) == CHILD_FIELDS:  # type: ignore[arg-type]
                queue.append(packed)
            elif spool.put(packed):  # a chunk is full: one record of the file
                self._seal()
        elif len(queue) >= PACK_CHILDREN_AFTER:
            queue.append(pack(span, self._packed_traces))
        else:
            queue.append(pack(span))
        if self._sleeping:
            self._sleeping = False
            self._kick()

    def _seal(self) -> None:
        """Seals the spool's chunk under the state lock, so a flush counts it exactly."""
        main = self._main_thread_enters()
        try:
            with self._state:
                self._spool.seal()
        except Exception as exc:
            _errors.report(exc, "export spool")
        finally:
            if main:
                self._main_thread_leaves()

    def put_first(self, span: LiveSpan) -> None:
        """At exit: the spans lanterna ends itself (traces left open) go first in line."""
        self._queue.appendleft(span)

    def put_after_exit(self, span: LiveSpan) -> None:
        """Spans that end once the exit flush is over (daemon threads, late exit handlers):
        counted as dropped, quietly; the interpreter is going away."""
        with self._state:
            self.stats.spans_dropped += 1

    def _kick(self) -> bool:
        """Wakes the worker, starting it if needed; False if no thread can be started (the
        interpreter is shutting down)."""
        thread = self._thread
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=self._run, name="lanterna-export", daemon=True)
            try:
                start_thread(thread)  # process signals stay with the main thread
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                self._sleeping = True
                return False
            self._thread = thread
        self._wake.set()
        return True

    def _drop(self, count: int) -> None:
        with self._state:
            self.stats.spans_dropped += count
            dropped = self.stats.spans_dropped
        now = time.monotonic()
        if now - self._last_drop_warning >= DROP_WARNING_INTERVAL:
            self._last_drop_warning = now
            _log.warning(
                "lanterna dropped spans: the export queue is full (%d spans; %d dropped so far). "
                "The store is too slow or unreachable; raise LANTERNA_EXPORT_QUEUE_SIZE or check "
                "the store.", self.max_queue, dropped,
            )

    # -- worker ----------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = MIN_BACKOFF_SECONDS
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            if not self._urgent and self._stopping.wait(LINGER_SECONDS):
                break
            done = False
            try:
                # A bounded attempt: while the store fails, the drain lock is released between
                # tries, so nothing else waiting on it is stuck behind the worker.
                done = self.drain(time.monotonic() + WORKER_ATTEMPT_SECONDS)
                if done:
                    backoff = MIN_BACKOFF_SECONDS
                    self._idle()
            except Exception as exc:  # drain already guards exporters; this is a last resort
                _errors.report(exc, "export worker")
            if not done and self._pending_retry is not None:
                if self._stopping.is_set() or self._wake.wait(backoff):
                    continue  # a flush asked for a try now (or we stop)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                self._wake.set()
                continue
            self._sleeping = True
            if self._queue or self._spool.count:
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
        return bool(self._queue or self._spool.count) or self._urgent or self._stopping.is_set()

    def drain(self, deadline: float | None = None) -> bool:
        """Export everything queued so far on this thread; True when nothing is left."""
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._drain_lock.acquire(timeout=wait):
            return False  # another thread holds it, retrying a store that is down
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
        queue, spool = self._queue, self._spool
        store_answered()  # the worker is alive and starts a batch
        with self._state:
            # While traces wait in the spool, memory is what is being saved: smaller batches,
            # taken from both lines.
            size = min(self.batch_size, self.spool_batch) if spool.count else self.batch_size
            from_queue = min(len(queue), size // 2 if spool.count else size)
            taken: list[Any] = [queue.popleft() for _ in range(from_queue)]
            records, from_spool = spool.take(size - from_queue) if spool.count else ([], 0)
            self._taken[0] += len(taken)
            self._taken[1] += from_spool
            self.stats.in_flight += len(taken) + from_spool
        if records:
            self._from_spool[id(batch)] = from_spool
            taken += spool.decode(records)
        packed_traces = self._packed_traces
        for live in taken:
            if live.__class__ is tuple and len(live) == CHILD_FIELDS:  # a packed child span
                span = unpack_child(live)  # type: ignore[arg-type]
                batch.spans.append(span)
                trace = packed_traces.get(span._trace_id)
                if trace is None:
                    continue  # its trace was exported already (see pack): stored only
                if trace.destination is not None:
                    batch.destinations[trace.trace_id] = trace.destination
                if trace.ended and trace.root is None:
                    packed_traces.pop(trace.trace_id, None)
                    continue  # ended after its trace was exported: stored, not assembled
                trace.finished.append(span)
                if not trace.announced and not trace.ended:
                    trace.announced = True
                    batch.started.append(assemble.in_progress_info(trace))
                continue
            if isinstance(live, tuple):  # a trace of one span (see export.compact)
                trace, span = unpack(live)
                trace.finished.append(span)
                batch.spans.append(span)
                if trace.destination is not None:
                    batch.destinations[trace.trace_id] = trace.destination
                batch.finished.append(assemble.finished_trace(trace, span))
                continue
            trace = live._trace
            # An ended LiveSpan ignores every setter: it travels as it is, and only the copies
            # the in-process cache keeps are frozen (``memory._frozen``). Subclasses (OpenTelemetry
            # spans lanterna captures) freeze late, here.
            span = live if live.__class__ is LiveSpan else live.to_immutable_span()
            batch.spans.append(span)
            if trace.destination is not None:
                batch.destinations[trace.trace_id] = trace.destination
            if live is trace.root:
                packed_traces.pop(trace.trace_id, None)
                trace.finished.append(span)
                batch.finished.append(assemble.finished_trace(trace, span))
                trace.root = None  # ended and exported: let reference counting free the pair
                trace.finished = []  # the assembled trace holds them: no span <-> trace cycle
            elif trace.ended and trace.root is None:
                continue  # a span ending after its trace was exported: stored, not assembled
            else:
                trace.finished.append(span)
                if not trace.announced and not trace.ended:
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
        unstored = Unstored()
        started, first_try = time.monotonic(), True
        while True:
            failed = []
            for exporter in targets:
                outcome = self._export_one(exporter, batch)
                if outcome is False:
                    failed.append(exporter)
                    continue
                if outcome is not None and outcome is not True:
                    unstored.rejected = max(unstored.rejected, outcome.rejected)
                    unstored.dropped = max(unstored.dropped, outcome.dropped)
                if self._urgent:
                    self.notify_progress()  # e.g. get_trace waits for the in-process cache
            targets = failed
            if not targets:
                if first_try:
                    self._last_batch_seconds = time.monotonic() - started
                break
            first_try = False
            self._pending_retry = (batch, targets)
            with self._state:
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
        self._settle(batch, unstored)
        return True

    def _settle(self, batch: ExportBatch, unstored: Unstored) -> None:
        count = len(batch.spans)
        rejected = min(unstored.rejected, count)
        dropped = min(unstored.dropped, count - rejected)
        from_spool = self._from_spool.pop(id(batch), 0)
        with self._state:
            if self._abandoned:
                return  # exit already counted this batch as dropped
            stats = self.stats
            stats.in_flight -= count
            stats.spans_exported += count - rejected - dropped
            stats.spans_rejected += rejected
            stats.spans_dropped += dropped
            stats.traces_exported += len(batch.finished)
            self._settled[0] += count - from_spool
            self._settled[1] += from_spool
            self._state.notify_all()

    def _give_up(self, deadline: float, delay: float) -> bool:
        """An attempt stops retrying at its deadline, or as soon as the store has been failing
        for a while: a dead store must not block the program, at exit or anywhere else. The
        worker then backs off and tries again."""
        now = time.monotonic()
        failing_for = now - self._failing_since if self._failing_since is not None else 0.0
        return now + delay > deadline or failing_for > GIVE_UP_SECONDS

    def _export_one(self, exporter: Exporter, batch: ExportBatch) -> bool | Unstored | None:
        """True/None/Unstored once delivered, False when it failed (to be retried)."""
        try:
            with self._exporting:
                return exporter.export(batch)  # type: ignore[return-value]
        except Exception as exc:
            with self._state:
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

    # -- flushing ------------------------------------------------------------------------------
    def flush(self, timeout: float | None = 30.0, until: Callable[[], bool] | None = None) -> bool:
        """Waits until every span queued before the call is exported (True), or gives up
        (False): after ``timeout`` seconds, or once the store has made no progress for
        ``give_up_seconds()`` since the flush started (progress: a batch written, the store
        answering a statement, or the export thread using CPU on a long write). ``until()``
        true ends the wait early."""
        main = self._main_thread_enters()
        try:
            return self._flush(FOREVER if timeout is None else max(0.0, float(timeout)), until)
        except Exception as exc:
            _errors.report(exc, "flush")
            return False
        finally:
            if main:
                self._main_thread_leaves()

    def _main_thread_enters(self) -> bool:
        """Marks a flush (or a seal) under way, if on the main thread: a SIGTERM handler
        interrupting it waits for its end (see ``MAIN_THREAD_FLUSH_ENDED``)."""
        if threading.current_thread() is not threading.main_thread():
            return False
        self.main_thread_flushing += 1
        return True

    def _main_thread_leaves(self) -> None:
        self.main_thread_flushing -= 1
        if not self.main_thread_flushing:
            for hook in MAIN_THREAD_FLUSH_ENDED:
                hook()

    def _flush(self, timeout: float, until: Callable[[], bool] | None) -> bool:
        start = time.monotonic()
        deadline = start + timeout
        if self._thread is threading.current_thread():
            return self.drain(min(deadline, start + GIVE_UP_SECONDS))
        state = self._state
        with state:
            targets = (self._taken[0] + len(self._queue), self._taken[1] + self._spool.count)
            if not self._short_of(targets):
                return True
            self._urgent = True
        try:
            self._sleeping = False
            if not self._kick():  # no worker can run: export on this thread, bounded
                return self.drain(min(deadline, start + GIVE_UP_SECONDS))
            last_progress, seen = start, -1
            window = self.give_up_seconds()
            working = _WorkerClock(self._thread)
            with state:
                while self._short_of(targets):
                    if until is not None and until():
                        return True
                    now = time.monotonic()
                    settled = self._settled[0] + self._settled[1]
                    if settled != seen:
                        if seen >= 0:
                            last_progress = now
                        seen = settled
                    if working.advanced() and self._failing_since is None:
                        last_progress = now  # a long write under way, not retries of a failure
                    last_progress = max(last_progress, _answered_at[0])
                    give_up_at = min(deadline, last_progress + window)
                    if now >= give_up_at or self._abandoned:
                        return False
                    state.wait(min(give_up_at - now, _WorkerClock.SAMPLE_SECONDS))
                return True
        finally:
            self._urgent = False

    def _short_of(self, targets: tuple[int, int]) -> bool:
        """Whether spans up to ``targets`` (of the queue, of the spool) are still unsettled."""
        return self._settled[0] < targets[0] or self._settled[1] < targets[1]

    def give_up_seconds(self) -> float:
        """How long a flush waits for progress: ``GIVE_UP_SECONDS``, longer for a store that
        just took long to write a batch (slow, not stuck)."""
        return min(SLOW_STORE_CAP_SECONDS,
                   max(GIVE_UP_SECONDS, SLOW_STORE_FACTOR * self._last_batch_seconds))

    def notify_progress(self) -> None:
        """An exporter delivered something a waiting flush's ``until`` may be looking for."""
        with self._state:
            self._state.notify_all()

    # -- lifecycle ---------------------------------------------------------------------------
    def shutdown(self, timeout: float = 30.0) -> bool:
        """Exports what is queued (bounded as ``flush`` is), counts what could not be, stops
        the worker and closes the exporters. True when everything was exported."""
        done = self.flush(timeout)
        if not done:
            with self._state:
                lost = len(self._queue) + self._spool.clear() + self.stats.in_flight
                self._queue.clear()
                self._packed_traces.clear()
                self.stats.spans_dropped += lost
                self.stats.in_flight = 0
                self._abandoned = True
                self._state.notify_all()
            _log.warning("lanterna could not export %d spans before exit (the store made no "
                         "progress for %g s); they are counted as dropped.", lost,
                         self.give_up_seconds())
        self._stopping.set()
        self._wake.set()
        if not done:
            return False  # the worker is stuck in the store: closing it could wait forever
        worker = self._thread
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout=JOIN_SECONDS)  # let its upkeep step finish before the exit
            if worker.is_alive():
                return True
        for exporter in self.exporters:
            try:
                exporter.shutdown()
            except Exception as exc:
                _errors.report(exc, "exporter shutdown")
        self._spool.close()
        return True

    def queued(self) -> int:
        return len(self._queue) + self._spool.count

    def queued_traces(self) -> list[LiveTrace]:
        """The trace records of the spans waiting: of live spans and of packed child spans
        (finished one-span traces, packed as tuples, are left out)."""
        with self._state:
            return [*(span._trace for span in self._queue if isinstance(span, LiveSpan)),
                    *self._packed_traces.values()]

    def counters(self) -> dict[str, int]:
        """The counters and the queue length, read together (they always add up)."""
        with self._state:
            found = self.stats.as_dict()
            found["queued"] = len(self._queue) + self._spool.count
        return found
