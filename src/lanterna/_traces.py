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
    if flush:
        setup.flush()
    trace = setup.memory.get(trace_id)
    if trace is None:
        trace = setup.stored_trace(trace_id)
    if trace is None and not silent:
        _log.warning("get_trace: no trace with id %r was found.", trace_id)
    return trace


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
