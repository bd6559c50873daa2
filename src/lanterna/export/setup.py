"""The process-wide export pipeline and where it sends traces.

Exporters: ``memory`` (recent traces, so ``get_trace`` answers at once) and the store exporter
(the store of the tracking URI in force, loaded on the export thread at the first batch).
"""

from __future__ import annotations

import threading

from lanterna.entities.span import LiveSpan
from lanterna.export.memory import InMemoryExporter
from lanterna.export.pipeline import Pipeline
from lanterna.export.store_exporter import StoreExporter
from lanterna.settings import setting

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from lanterna.entities.live_trace import LiveTrace
    from lanterna.entities.trace import Trace
    from lanterna.export.base import Exporter

memory = InMemoryExporter()
store_exporter = StoreExporter()
_pipeline: Pipeline | None = None
_lock = threading.Lock()


def pipeline() -> Pipeline:
    global _pipeline
    if _pipeline is None:
        with _lock:
            if _pipeline is None:
                _pipeline = Pipeline(
                    [memory, *destinations()],
                    max_queue=int(setting("export_queue_size")),
                    batch_size=int(setting("export_batch_size")),
                    memory_queue=int(setting("export_memory_queue")),
                )
    return _pipeline


def destinations() -> list[Exporter]:
    """The exporters ``LANTERNA_EXPORT_TO`` names (``store``, ``otlp`` or both); by default the
    store, plus OTLP when an OTLP endpoint is configured."""
    from lanterna import _log

    chosen = setting("export_to")
    names = {n.strip() for n in (chosen or "store").split(",") if n.strip()}
    if chosen is None and _otlp_configured():
        names.add("otlp")
    unknown = names - {"store", "otlp"}
    if unknown:
        _log.warning("Ignoring %s in LANTERNA_EXPORT_TO: use store, otlp, or store,otlp.",
                     ", ".join(sorted(unknown)))
    exporters: list[Exporter] = [store_exporter] if "store" in names else []
    if "otlp" in names:
        from lanterna.export.otlp_exporter import OtlpExporter

        try:
            otlp = OtlpExporter.from_settings()
        except ValueError as exc:
            otlp = None
            _log.warning("lanterna does not export over OTLP: %s", exc)
        else:
            if otlp is None:
                _log.warning("LANTERNA_EXPORT_TO names otlp, but no OTLP endpoint is set "
                             "(LANTERNA_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_ENDPOINT).")
        if otlp is not None:
            exporters.append(otlp)
    return exporters


def _otlp_configured() -> bool:
    import os

    return any(os.environ.get(name) for name in (
        "LANTERNA_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT"))


def pin_destination(uri: str, live: list[LiveTrace]) -> None:
    """Traces still open (``live``) or queued keep going to ``uri`` when the tracking URI
    changes, so each is stored whole in one store."""
    traces = list(live)
    if _pipeline is not None:
        traces.extend(_pipeline.queued_traces())
    for trace in traces:
        if trace.destination is None:
            trace.destination = uri


def current() -> Pipeline | None:
    """The pipeline, if a span was ever exported by this process."""
    return _pipeline


def before_fork() -> None:
    if _pipeline is not None:
        _pipeline.before_fork()


def after_fork_in_parent() -> None:
    if _pipeline is not None:
        _pipeline.after_fork_in_parent()


def after_fork_in_child() -> None:
    """A forked child starts with an empty queue and fresh locks."""
    memory.after_fork_in_child()
    if _pipeline is not None:
        _pipeline.after_fork_in_child()


def put(span: LiveSpan) -> None:
    """The tracing runtime's sink: the first call creates the pipeline, later ones append."""
    pipeline().put(span)


def flush(timeout: float | None = 30.0, until: Callable[[], bool] | None = None) -> bool:
    """Bounded: see ``Pipeline.flush``."""
    if _pipeline is None:
        return True
    return _pipeline.flush(timeout, until)


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
