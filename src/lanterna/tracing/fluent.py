"""The fluent span API: ``start_span``, ``start_span_no_context`` and the current span."""

from __future__ import annotations

from contextvars import Token

from lanterna import _errors, _log
from lanterna.entities._values import safe_text
from lanterna.entities.span import LiveSpan, NoOpSpan
from lanterna.entities.span_type import SpanType
from lanterna.entities.trace_info import TraceMetadataKey
from lanterna.entities.trace_state import TraceState
from lanterna.exceptions import MlflowException
from lanterna.tracing import runtime
from lanterna.tracing.context import RemoteParent, current_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import TracebackType
    from typing import Any

    from lanterna.entities.span_link import Link


class SpanScope:
    """The context manager ``start_span`` returns: makes the span current inside the block,
    records an exception leaving it (and lets it propagate), and ends the span on exit."""

    __slots__ = ("_name", "_span_type", "_attributes", "_span", "_token", "_links")

    def __init__(self, name: str, span_type: str, attributes: dict[str, Any] | None,
                 links: list[Link] | None = None) -> None:
        self._name = name
        self._span_type = span_type
        self._attributes = attributes
        self._links = links
        self._span: LiveSpan | NoOpSpan = runtime.NOOP_SPAN
        self._token: Token[LiveSpan | NoOpSpan | RemoteParent | None] | None = None

    def __enter__(self) -> LiveSpan | NoOpSpan:
        if runtime.tracing_active():
            try:
                self._span = runtime.start_span(
                    self._name, self._span_type, current_span.get(), None, self._attributes
                )
                if self._links:
                    runtime.add_links(self._span, self._links)
            except Exception as exc:
                _errors.report(exc, f"starting span {self._name!r}")
            self._token = current_span.set(self._span)
        return self._span

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            try:  # noqa: SIM105 - cheaper than contextlib.suppress on this path
                current_span.reset(self._token)
            except ValueError:  # exited in another context than entered; nothing to restore
                pass
        span = self._span
        if span.__class__ is LiveSpan and span._end_ns is None:  # type: ignore[union-attr]
            try:
                if exc is not None:
                    span.record_exception(exc)
                span._close(None)  # type: ignore[union-attr]
            except Exception as error:
                _errors.report(error, "ending span")


def start_span(
    name: str = "span",
    span_type: str = SpanType.UNKNOWN,
    attributes: dict[str, Any] | None = None,
    links: list[Link] | None = None,
    **ignored: Any,
) -> SpanScope:
    """``with start_span("step") as span:`` — a child of the current span, current inside."""
    return SpanScope(name, span_type, attributes, links)


def start_span_no_context(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent_span: LiveSpan | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
    start_time_ns: int | None = None,
    tags: dict[str, str] | None = None,
    metadata: dict[str, str] | None = None,
    experiment_id: str | None = None,
    links: list[Link] | None = None,
    **ignored: Any,
) -> LiveSpan | NoOpSpan:
    """A span that is not made current; the caller ends it with ``span.end()``.

    Its parent is ``parent_span`` if given, else the current span, else it starts a trace.
    """
    if not runtime.tracing_active():
        return runtime.NOOP_SPAN
    try:
        parent = parent_span if parent_span is not None else current_span.get()
        span = runtime.start_span(
            name, span_type, parent, inputs, attributes, start_time_ns,
            experiment_id=experiment_id,
        )
        runtime.add_links(span, links)
        if span.__class__ is LiveSpan and span is span._trace.root:  # type: ignore[union-attr]
            trace = span._trace  # type: ignore[union-attr]
            trace.tags.update({safe_text(k): safe_text(v) for k, v in (tags or {}).items()})
            trace.metadata.update({safe_text(k): safe_text(v) for k, v in (metadata or {}).items()})
        return span
    except Exception as exc:
        _errors.report(exc, f"starting span {name!r}")
        return runtime.NOOP_SPAN


def get_current_active_span() -> LiveSpan | None:
    return runtime.current_live_span()


def get_active_trace_id() -> str | None:
    span = runtime.current_live_span()
    return span.trace_id if span is not None else None


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """The id of the last trace whose root span ended (in this thread if ``thread_local``)."""
    return runtime.last_trace_id(thread_local)


def update_current_trace(
    tags: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    client_request_id: str | None = None,
    request_preview: str | None = None,
    response_preview: str | None = None,
    state: TraceState | str | None = None,
    session_id: str | None = None,
    user: str | None = None,
    model_id: str | None = None,
    **ignored: Any,
) -> None:
    """Add tags/metadata or override previews and state of the trace being recorded.
    ``model_id`` links the trace to a model version (metadata ``mlflow.modelId``)."""
    span = runtime.current_live_span()
    if span is None:
        _log.warning(
            "update_current_trace() was called outside a span, so there is no trace to update. "
            "Call it inside a @trace function or a start_span() block."
        )
        return
    if state is not None:
        name = state.value if isinstance(state, TraceState) else str(state).upper()
        if name not in ("OK", "ERROR"):
            raise MlflowException(
                f"State must be either 'OK' or 'ERROR', but got '{state}'. (lanterna: "
                f"update_current_trace(state=...) takes 'OK' or 'ERROR', got {state!r}.)"
            )
    for label, preview in (("request_preview", request_preview),
                           ("response_preview", response_preview)):
        if preview is not None and not isinstance(preview, str):
            raise MlflowException(f"The `{label}` parameter must be a string. (lanterna: "
                                  f"{label} must be a string, got {type(preview).__name__}.)")
    trace = span._trace
    if tags:
        trace.tags.update({safe_text(k): safe_text(v) for k, v in tags.items()})
    if metadata:
        trace.metadata.update({safe_text(k): safe_text(v) for k, v in metadata.items()})
    if session_id is not None:
        trace.metadata[TraceMetadataKey.SESSION] = str(session_id)
    if user is not None:
        trace.metadata[TraceMetadataKey.USER] = str(user)
    if model_id is not None:
        trace.metadata[TraceMetadataKey.MODEL_ID] = str(model_id)
    if client_request_id is not None:
        trace.client_request_id = str(client_request_id)
    if request_preview is not None:
        trace.request_preview = request_preview
    if response_preview is not None:
        trace.response_preview = response_preview
    if state is not None:
        trace.state = name
