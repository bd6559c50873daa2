"""The process-wide export pipeline and where it sends traces.

Exporters: ``memory`` (recent traces, so ``get_trace`` answers at once) and the store exporter
(the store of the tracking URI in force, loaded on the export thread at the first batch).
"""

from __future__ import annotations

import threading

from lanterna.entities.span import LiveSpan
from lanterna.export.memory import InMemoryExporter
from lanterna.export.pipeline import Pipeline, register_atexit
from lanterna.export.store_exporter import StoreExporter
from lanterna.settings import setting

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.entities.trace import Trace

memory = InMemoryExporter()
store_exporter = StoreExporter(lambda: pipeline().stats)
_pipeline: Pipeline | None = None
_lock = threading.Lock()


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        with _lock:
            if _pipeline is None:
                _pipeline = Pipeline(
                    [memory, store_exporter],
                    max_queue=int(setting("export_queue_size")),
                    batch_size=int(setting("export_batch_size")),
                )
                register_atexit(_pipeline)
    return _pipeline


def put(span: LiveSpan) -> None:
    """The tracing runtime's sink: the first call creates the pipeline, later ones append."""
    pipeline().put(span)


def flush(timeout: float | None = 30.0) -> bool:
    if _pipeline is None:
        return True
    return _pipeline.flush(timeout)


def stored_trace(trace_id: str) -> Trace | None:
    """The trace from the store of the tracking URI in force (None if it is not there)."""
    from lanterna.store import uri

    return uri.get_store().get_trace(trace_id)


def set_stored_tag(trace_id: str, key: str, value: str | None) -> bool:
    """Set (or delete, with None) a tag of a stored trace; False if no such trace is stored."""
    from lanterna.store import uri

    store = uri.get_store()
    if value is None:
        return store.delete_trace_tag(trace_id, key)
    return store.set_trace_tag(trace_id, key, value)
