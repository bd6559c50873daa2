"""Keeps recently finished traces in process, so ``get_trace`` answers at once.

It is a cache in front of the store, bounded both in traces and in spans so that huge traces
cannot make it hold unbounded memory; what it drops is still in the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from lanterna.entities.trace import Trace, TraceData

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.store.batch import ExportBatch


class InMemoryExporter:
    """The last ``capacity`` finished traces holding at most ``max_spans`` spans, newest last.
    Thread-safe."""

    def __init__(self, capacity: int = 10_000, max_spans: int = 200_000) -> None:
        self.capacity = capacity
        self.max_spans = max_spans
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._spans = 0
        self._lock = threading.Lock()

    def export(self, batch: ExportBatch) -> None:
        with self._lock:
            for trace in batch.finished:
                if len(trace.data.spans) > self.max_spans:
                    continue  # too big to cache; get_trace reads it from the store
                previous = self._traces.pop(trace.trace_id, None)
                if previous is not None:
                    self._spans -= len(previous.data.spans)
                    trace = _merged(previous, trace)
                self._traces[trace.trace_id] = trace
                self._spans += len(trace.data.spans)
            # Spans that are not in their trace's cached copy yet: ended after the root was
            # exported, or after the root in this very batch (the trace was assembled at the
            # root, so a child later in the batch is not in it).
            included: dict[str, set[str]] = {}
            for span in batch.spans:
                known = self._traces.get(span.trace_id)
                if known is None:
                    continue
                ids = included.get(span.trace_id)
                if ids is None:
                    ids = included[span.trace_id] = {s.span_id for s in known.data.spans}
                if span.span_id not in ids:
                    ids.add(span.span_id)
                    known.data.spans.append(span)
                    known.data.spans.sort(key=lambda s: s.start_time_ns)
                    self._spans += 1
            while len(self._traces) > self.capacity or self._spans > self.max_spans:
                _, dropped = self._traces.popitem(last=False)
                self._spans -= len(dropped.data.spans)

    def get(self, trace_id: str) -> Trace | None:
        """A copy of the trace: callers may change it without touching what is kept."""
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return None
            return Trace(info=trace.info.copy(), data=TraceData(spans=list(trace.data.spans)))

    def set_tag(self, trace_id: str, key: str, value: str | None) -> bool:
        with self._lock:
            trace = self._traces.get(trace_id)
            if trace is None:
                return False
            if value is None:
                trace.info.tags.pop(key, None)
            else:
                trace.info.tags[key] = value
            return True

    def traces(self) -> list[Trace]:
        with self._lock:
            return list(self._traces.values())

    def delete(self, trace_ids: set[str]) -> int:
        with self._lock:
            deleted = 0
            for trace_id in trace_ids:
                trace = self._traces.pop(trace_id, None)
                if trace is not None:
                    self._spans -= len(trace.data.spans)
                    deleted += 1
            return deleted

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # the parent's export thread may have held it

    def has(self, trace_id: str) -> bool:
        return trace_id in self._traces

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()
            self._spans = 0

    def shutdown(self) -> None:
        return None


def _merged(earlier: Trace, later: Trace) -> Trace:
    """Two parts of one trace (its spans recorded by two processes, joined through W3C
    ``traceparent``): all spans, and the info of the part holding the trace's true root."""
    known = {span.span_id for span in earlier.data.spans}
    spans = earlier.data.spans + [s for s in later.data.spans if s.span_id not in known]
    spans.sort(key=lambda s: s.start_time_ns)
    later_has_root = any(s.parent_id is None for s in later.data.spans)
    earlier_has_root = any(s.parent_id is None for s in earlier.data.spans)
    info = earlier.info if earlier_has_root and not later_has_root else later.info
    return Trace(info=info, data=TraceData(spans=spans))
