"""Reading and changing recorded traces: ``get_trace``, tags, ``log_trace``, flushing.

Recent traces are answered from the in-process exporter; anything older goes to the store.
"""

from __future__ import annotations

import time
import warnings

from lanterna import _log
from lanterna.entities.span import SpanAttributeKey
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceMetadataKey
from lanterna.exceptions import MlflowException
from lanterna.export import setup
from lanterna.tracing import runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def resolve_trace_id(trace_id: str | None, request_id: str | None, caller: str) -> str:
    """Accepts the deprecated ``request_id=`` name with a FutureWarning, as MLflow does."""
    if request_id is not None:
        warnings.warn(
            f"{caller}: the 'request_id' parameter is deprecated; pass 'trace_id' instead.",
            FutureWarning,
            stacklevel=3,
        )
        if trace_id is None:
            trace_id = request_id
    if not trace_id or not isinstance(trace_id, str):
        raise MlflowException(f"{caller} needs a trace id (a string such as 'tr-…').")
    return trace_id


def flush_trace_async_logging(terminate: bool = False) -> None:
    """Wait until every finished span has been exported."""
    setup.flush(timeout=None)


def get_trace(
    trace_id: str | None = None, silent: bool = False, *, request_id: str | None = None,
    flush: bool = True,
) -> Trace | None:
    """The trace with this id, or None (with one warning unless ``silent``)."""
    trace_id = resolve_trace_id(trace_id, request_id, "get_trace")
    # The process's own cache first: reading a trace it holds never waits on the store.
    if flush and not setup.memory.has(trace_id):
        setup.flush(until=lambda: setup.memory.has(trace_id))
    trace = recorded_trace(trace_id)
    if trace is None and not silent:
        _log.warning("get_trace: no trace with id %r was found.", trace_id)
    return trace


def recorded_trace(trace_id: str, tracking_uri: str | None = None) -> Trace | None:
    """The trace as the store has it (or will have it once written): recent traces come from
    memory, with the spans other processes stored for traces whose context went out in a
    ``traceparent`` header, and the same ``mlflow.trace.sizeBytes`` metadata the store adds."""
    from lanterna.store import uri
    from lanterna.tracing import propagation

    trace = setup.memory.get(trace_id)
    if trace is None:
        found: Trace | None = uri.get_store(tracking_uri).get_trace(trace_id)
        return found
    if propagation.was_propagated(trace_id):
        try:
            stored = uri.get_store(tracking_uri).get_trace(trace_id)
        except Exception as exc:  # the recent part is still worth returning
            _log.warning("get_trace: could not read other processes' spans: %s", exc)
            stored = None
        if stored is not None:
            known = {span.span_id for span in trace.data.spans}
            extra = [span for span in stored.data.spans if span.span_id not in known]
            if extra:
                trace.data.spans = sorted([*trace.data.spans, *extra],
                                          key=lambda span: span.start_time_ns)
    if TraceMetadataKey.SIZE_BYTES not in trace.info.trace_metadata:
        size = size_bytes(trace)
        if size is not None:
            trace.info.trace_metadata[TraceMetadataKey.SIZE_BYTES] = str(size)
    return trace


def size_bytes(trace: Trace) -> int | None:
    """The size the store records for a trace's spans (``mlflow.trace.sizeBytes``), computed
    the way the SQL store computes it, so both reads agree; None when the SQL layer is not
    installed (the trace is still returned, without the size)."""
    try:
        from lanterna.store.sql.writes import span_size
    except ImportError:
        return None
    return sum(span_size(span) for span in trace.data.spans)


def set_trace_tag(
    trace_id: str | None = None, key: str = "", value: Any = "", *,
    request_id: str | None = None,
) -> None:
    """Tag a trace, live or stored."""
    trace_id = resolve_trace_id(trace_id, request_id, "set_trace_tag")
    _change_tag(trace_id, str(key), str(value))


def delete_trace_tag(
    trace_id: str | None = None, key: str = "", *, request_id: str | None = None
) -> None:
    trace_id = resolve_trace_id(trace_id, request_id, "delete_trace_tag")
    _change_tag(trace_id, str(key), None)


def _change_tag(trace_id: str, key: str, value: str | None) -> None:
    live = runtime.live_traces.get(trace_id)
    if live is not None:
        if value is None:
            live.tags.pop(key, None)
        else:
            live.tags[key] = value
        return
    setup.flush()
    found = setup.memory.set_tag(trace_id, key, value)
    found = setup.set_stored_tag(trace_id, key, value) or found
    if not found:
        raise MlflowException(
            f"No trace with id {trace_id!r}; check the id (get_last_active_trace_id() gives "
            "the latest one).",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )


def log_trace(
    name: str = "Task",
    request: Any = None,
    response: Any = None,
    intermediate_outputs: dict[str, Any] | None = None,
    attributes: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
    start_time_ms: int | None = None,
    execution_time_ms: int | None = None,
) -> str:
    """Record a one-span trace from values you already have; returns its id."""
    start_ms = start_time_ms if start_time_ms is not None else time.time_ns() // 1_000_000
    span = runtime.start_span(
        name, parent=None, inputs=request, attributes=attributes,
        start_time_ns=start_ms * 1_000_000, sampling_ratio=1.0,
    )
    if span.__class__ is runtime.NOOP_SPAN.__class__:
        return ""
    live = span  # a root LiveSpan
    live._trace.tags.update({str(k): str(v) for k, v in (tags or {}).items()})  # type: ignore[union-attr]
    if intermediate_outputs:
        live.set_attribute(SpanAttributeKey.INTERMEDIATE_OUTPUTS, intermediate_outputs)
    end_ms = start_ms + (execution_time_ms or 0)
    live.end(outputs=response, status=SpanStatus(SpanStatusCode.OK),
             end_time_ns=end_ms * 1_000_000)
    return str(live.trace_id)


def add_trace(trace: Trace | dict[str, Any], target: Any = None) -> None:
    """Attach a finished trace (e.g. returned by another service) under ``target``, or under
    the current span; with neither, under a new root span ``Remote Trace <root name>``.

    Its spans keep their ids, names, times, values and events and join the target's trace."""
    from lanterna.entities.span import LiveSpan
    from lanterna.entities.trace_state import TraceStatus
    from lanterna.tracing import fluent

    if not runtime.tracing_active():
        return
    if isinstance(trace, dict):
        try:
            trace = Trace.from_dict(trace)
        except Exception as exc:
            raise MlflowException(
                "Failed to load a trace object from the given dictionary. Please ensure the "
                f"dictionary is in the correct MLflow Trace format. Error: {exc}"
            ) from exc
    elif not isinstance(trace, Trace):
        raise MlflowException(
            f"Invalid trace object: {type(trace)}. Please provide a valid MLflow Trace object "
            "to use it as a remote trace. You can create a Trace object from its json format by "
            "using the Trace.from_dict() method."
        )
    if trace.info.status not in TraceStatus.end_statuses():
        raise MlflowException(
            "The trace must be ended before adding it to another trace. "
            f"Current status: {trace.info.status}. (lanterna: end its root span first, or "
            "pass the trace get_trace() returns once it has finished.)"
        )
    if not trace.data.spans:
        return
    parent = target if target is not None else fluent.get_current_active_span()
    if parent is not None and not isinstance(parent, LiveSpan):
        raise MlflowException(
            f"add_trace(target=...) takes a live span, got {type(parent).__name__}."
        )
    if parent is None:
        remote_root = trace.data.spans[0]
        holder = fluent.start_span_no_context(
            f"Remote Trace <{remote_root.name}>", inputs=remote_root.inputs,
            start_time_ns=remote_root.start_time_ns - 1,
            attributes={k: v for k, v in remote_root.own_attributes.items()},
        )
        if not isinstance(holder, LiveSpan):
            return
        _graft(trace, holder)
        holder.end(outputs=remote_root.outputs,
                   status="ERROR" if trace.info.state == "ERROR" else "OK",
                   end_time_ns=remote_root.end_time_ns)
        return
    if parent.is_ended:
        raise MlflowException(
            f"add_trace: the target span {parent.name!r} has already ended; pass a span that "
            "is still open."
        )
    _graft(trace, parent)


def _graft(trace: Trace, parent: Any) -> None:
    """Live copies of ``trace``'s spans in ``parent``'s trace, parents before children, ended
    at once so they are exported with it. Spans already there (same id) are not added again."""
    from lanterna.entities.span import LiveSpan
    from lanterna.tracing.ids import new_span_id

    live_trace = parent._trace
    grafted: set[str] = live_trace.__dict__.setdefault("grafted_span_ids", set())
    spans = trace.data.spans
    ids = {span.span_id for span in spans}
    placed: set[str] = set()
    new_ids: dict[str, str] = {}
    pending = list(spans)
    while pending:
        ready = [s for s in pending if s.parent_id is None or s.parent_id not in ids
                 or s.parent_id in placed]
        if not ready:  # a cycle of parent ids: attach what is left under the target
            ready = pending
        for span in ready:
            placed.add(span.span_id)
            if span.span_id in grafted or span.span_id in live_trace.open:
                continue
            grafted.add(span.span_id)
            # Fresh span ids: the same remote trace may also be stored under its own id.
            new_ids[span.span_id] = new_span_id()
            parent_id = (new_ids.get(span.parent_id, parent.span_id)
                         if span.parent_id in ids else parent.span_id)
            copy = LiveSpan.__new__(LiveSpan)
            copy._trace = live_trace
            copy._trace_id = live_trace.trace_id
            copy._span_id = new_ids[span.span_id]
            copy._parent_id = parent_id
            copy._name = span.name
            copy._span_type = span.span_type
            copy._start_ns = span.start_time_ns
            copy._end_ns = None
            copy._status = span.status
            copy._inputs = span.inputs
            copy._outputs = span.outputs
            copy._outputs_set = span.outputs is not None
            copy._attributes = dict(span.own_attributes)
            copy._events = list(span.events) if span.events else ()
            copy._links = list(span.links) if span.links else ()
            live_trace.open[copy._span_id] = copy
            live_trace.children = True  # the root is no longer a one-span trace
            LiveSpan._finish(copy, span.end_time_ns)
        pending = [s for s in pending if s.span_id not in placed]
