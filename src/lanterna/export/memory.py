"""Keeps recently finished traces in process, so ``get_trace`` answers at once.

It is a cache in front of the store, bounded in traces, in spans and in bytes (the approximate
size of their values, ``LANTERNA_TRACE_CACHE_BYTES``), so that huge traces or payloads cannot
make it hold unbounded memory; what it drops is still in the store.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace, TraceData
from lanterna.settings import setting

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lanterna.store.batch import ExportBatch


class InMemoryExporter:
    """The last ``capacity`` finished traces holding at most ``max_spans`` spans, newest last.
    Thread-safe."""

    def __init__(self, capacity: int = 256, max_spans: int = 200_000,
                 max_bytes: int | None = None) -> None:
        self.capacity = capacity
        self.max_spans = max_spans
        self.max_bytes = int(setting("trace_cache_bytes")) if max_bytes is None else max_bytes
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._spans = 0
        self._bytes = 0
        self._lock = threading.Lock()

    def export(self, batch: ExportBatch) -> None:
        with self._lock:
            finished = self._worth_keeping(batch.finished)
            for trace in finished:
                if len(trace.data.spans) > self.max_spans:
                    continue  # too big to cache; get_trace reads it from the store
                previous = self._traces.pop(trace.trace_id, None)
                if previous is not None:
                    self._spans -= len(previous.data.spans)
                    self._bytes -= self._sizes.pop(trace.trace_id, 0)
                    trace = _merged(previous, trace)
                size = sum(approximate_bytes(span) for span in trace.data.spans)
                if size > self.max_bytes:
                    continue  # too big to cache; get_trace reads it from the store
                self._traces[trace.trace_id] = trace = _frozen(trace)
                self._sizes[trace.trace_id] = size
                self._spans += len(trace.data.spans)
                self._bytes += size
            # Spans that are not in their trace's cached copy yet: ended after the root was
            # exported, or after the root in this very batch (the trace was assembled at the
            # root, so a child later in the batch is not in it). Assembled traces hold the very
            # span objects of the batch, so most spans are told apart by identity, cheaply.
            assembled = {id(span) for trace in finished for span in trace.data.spans}
            included: dict[str, set[str]] = {}
            for span in batch.spans:
                known = self._traces.get(span._trace_id)
                if known is None or id(span) in assembled:
                    continue
                ids = included.get(span._trace_id)
                if ids is None:
                    ids = included[span._trace_id] = {s.span_id for s in known.data.spans}
                if span._span_id not in ids:
                    ids.add(span._span_id)
                    span = span.to_immutable_span()
                    known.data.spans.append(span)
                    known.data.spans.sort(key=lambda s: s.start_time_ns)
                    self._spans += 1
                    size = approximate_bytes(span)
                    self._sizes[span._trace_id] = self._sizes.get(span._trace_id, 0) + size
                    self._bytes += size
            while self._traces and (len(self._traces) > self.capacity
                                    or self._spans > self.max_spans
                                    or self._bytes > self.max_bytes):
                trace_id, dropped = self._traces.popitem(last=False)
                self._spans -= len(dropped.data.spans)
                self._bytes -= self._sizes.pop(trace_id, 0)

    def _worth_keeping(self, finished: list[Trace]) -> list[Trace]:
        """The traces of a batch the cache would still hold after it: the newest ``capacity``
        (and earlier parts of the same traces). A big batch's older traces would be evicted
        at once, so they are not sized at all; copies cached before of those are forgotten.
        Called with the lock held."""
        if len(finished) <= self.capacity:
            return finished
        newest = finished[-self.capacity:]
        ids = {trace.trace_id for trace in newest}
        older = finished[:-self.capacity]
        for trace in older:
            if trace.trace_id not in ids and trace.trace_id in self._traces:
                self._spans -= len(self._traces.pop(trace.trace_id).data.spans)
                self._bytes -= self._sizes.pop(trace.trace_id, 0)
        return [trace for trace in older if trace.trace_id in ids] + newest

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
                    self._bytes -= self._sizes.pop(trace_id, 0)
                    deleted += 1
            return deleted

    def after_fork_in_child(self) -> None:
        self._lock = threading.Lock()  # the parent's export thread may have held it

    def has(self, trace_id: str) -> bool:
        return trace_id in self._traces

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()
            self._sizes.clear()
            self._spans = 0
            self._bytes = 0

    def shutdown(self) -> None:
        return None


def _frozen(trace: Trace) -> Trace:
    """The trace with immutable spans: a batch carries ended ``LiveSpan``s as they are (they
    ignore every setter), and what the cache hands out must pickle like MLflow's spans."""
    return Trace(info=trace.info,
                 data=TraceData(spans=[span.to_immutable_span() for span in trace.data.spans]))


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


#: What a span costs besides its values (the object, its ids, status, times).
SPAN_OVERHEAD_BYTES = 400


def approximate_bytes(span: Span) -> int:
    """Roughly what ``span`` holds in memory: its values' text and numbers, plus overhead."""
    total = SPAN_OVERHEAD_BYTES + len(span._name) + _value_bytes(span._attributes, 0)
    total += _value_bytes(span._inputs, 0) + _value_bytes(span._outputs, 0)
    for event in span._events:
        total += SPAN_OVERHEAD_BYTES // 4 + _value_bytes(event.attributes, 0)
    return total


def _value_bytes(value: Any, depth: int) -> int:
    """Hot (every exported span): strings and numbers inside containers are counted inline,
    without a call each."""
    kind = type(value)
    if kind is str or kind is bytes:
        return 50 + len(value)
    if depth > 32:
        return 64
    if kind is dict:
        total = 64
        items: Any = value.values()
        for key in value:
            total += 50 + len(key) if type(key) is str else _value_bytes(key, depth + 1)
    elif kind is list or kind is tuple:
        total = 56
        items = value
    else:
        return 32
    for item in items:
        kind = type(item)
        if kind is str or kind is bytes:
            total += 50 + len(item)
        elif kind is dict or kind is list or kind is tuple:
            total += _value_bytes(item, depth + 1)
        else:
            total += 32
    return total
