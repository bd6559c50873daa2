"""The process-wide export pipeline and where it sends traces."""

from __future__ import annotations

import threading
from typing import Any

from lanterna.entities.span import LiveSpan
from lanterna.export.base import Exporter
from lanterna.export.memory import InMemoryExporter
from lanterna.export.pipeline import Pipeline, register_atexit
from lanterna.settings import setting

memory = InMemoryExporter()
_pipeline: Pipeline | None = None
_lock = threading.Lock()
_extra_exporters: list[Exporter] = []


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        with _lock:
            if _pipeline is None:
                _pipeline = Pipeline(
                    [memory, *_extra_exporters],
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


def stored_trace(trace_id: str) -> Any:
    """The trace from the configured store, when there is one (None otherwise)."""
    return None


def set_stored_tag(trace_id: str, key: str, value: str | None) -> bool:
    return False
