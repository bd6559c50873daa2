"""Keeps recently finished traces in process, so ``get_trace`` works with no store at all."""

from __future__ import annotations

import threading
from collections import OrderedDict

from lanterna.entities.trace import Trace, TraceData
from lanterna.export.base import ExportBatch


class InMemoryExporter:
    """The last ``capacity`` finished traces, newest last. Thread-safe."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._traces: OrderedDict[str, Trace] = OrderedDict()
        self._lock = threading.Lock()

    def export(self, batch: ExportBatch) -> None:
        with self._lock:
            for trace in batch.finished:
                self._traces[trace.trace_id] = trace
                self._traces.move_to_end(trace.trace_id)
            finished_now = {t.trace_id for t in batch.finished}
            for span in batch.spans:  # spans that ended after their root was exported
                if span.trace_id in finished_now:
                    continue
                known = self._traces.get(span.trace_id)
                if known is not None and all(
                    s.span_id != span.span_id for s in known.data.spans
                ):
                    known.data.spans.append(span)
                    known.data.spans.sort(key=lambda s: s.start_time_ns)
            while len(self._traces) > self.capacity:
                self._traces.popitem(last=False)

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
            return sum(self._traces.pop(t, None) is not None for t in trace_ids)

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()

    def shutdown(self) -> None:
        return None
