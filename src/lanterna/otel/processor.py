"""``lanterna.otel.SpanProcessor``: OpenTelemetry spans stored in lanterna.

Added to the application's ``TracerProvider`` beside its own processors and exporters, it
mirrors every span the provider records (the sampler has already said yes) as a lanterna span
with the same trace and span ids, in the same lanterna trace as the lanterna spans around it.
When the OTel span ends, its attributes are mapped through the conventions (OpenInference,
GenAI, OpenLLMetry, Logfire: span type, inputs, outputs, model, token usage) and the mirror
goes through lanterna's export pipeline like any other span. The provider's own exporters are
untouched and receive their spans exactly as before.
"""

from __future__ import annotations

import threading

from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace import SpanProcessor as OtelSpanProcessor
from opentelemetry.trace import StatusCode

from lanterna import _errors
from lanterna.entities._values import snapshot
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import LiveSpan, Span
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.span_type import SpanType
from lanterna.entities.trace_info import TraceMetadataKey
from lanterna.otel import context_bridge as bridge
from lanterna.tracing import runtime
from lanterna.tracing.context import scope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span as SdkSpan

#: The attribute naming the instrumentation library a captured span came from. lanterna's OTLP
#: exporter leaves such spans to the application's provider, so no span is exported twice.
SCOPE_ATTRIBUTE = "otel.scope.name"

#: Logfire marks the start of a span with a "pending" span of its own (not stored).
_LOGFIRE_KIND = "logfire.span_type"
_STATUS = {StatusCode.OK: SpanStatusCode.OK, StatusCode.ERROR: SpanStatusCode.ERROR}
_OK = SpanStatus(SpanStatusCode.OK)


class SpanProcessor(OtelSpanProcessor):
    """Stores the spans of an OpenTelemetry ``TracerProvider`` in lanterna.

    ``provider.add_span_processor(lanterna.otel.SpanProcessor())``. Creating one also installs
    the context bridge, so OTel and lanterna spans nest in one another in one trace.
    """

    def __init__(self) -> None:
        bridge.install()

    # -- OpenTelemetry calls these on the thread that starts / ends the span ----------------
    def on_start(self, span: SdkSpan, parent_context: Context | None = None) -> None:
        try:
            if runtime.tracing_active():
                self._mirror(span, parent_context)
        except Exception as exc:
            _errors.report(exc, "capturing an OpenTelemetry span")

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None:
            return
        mirror = bridge.mirrors.pop(context.span_id, None)
        if mirror is None:
            return
        try:
            _end(mirror, span)  # type: ignore[arg-type]
        except Exception as exc:
            _errors.report(exc, "storing an OpenTelemetry span")

    def shutdown(self) -> None:
        self.force_flush()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return runtime.flush(timeout_millis / 1000)

    # -- mirroring -------------------------------------------------------------------------
    def _mirror(self, span: SdkSpan, parent_context: Context | None) -> None:
        context = span.get_span_context()
        parent = span.parent
        span_id = context.span_id.to_bytes(8, "big").hex()
        if parent is not None:
            parent_mirror = bridge.mirrors.get(parent.span_id)
            if parent_mirror is not None:  # the common case: a child of a captured span
                bridge.mirrors[context.span_id] = _new_mirror(
                    parent_mirror._trace, parent_mirror._span_id, span, span_id, False)
                return
        trace_id = "tr-" + context.trace_id.to_bytes(16, "big").hex()
        parent_id = parent.span_id.to_bytes(8, "big").hex() if parent is not None else None
        trace = _trace_of(trace_id, parent_id, parent_context) if parent_id else None
        local_root = trace is None
        if trace is None:
            trace = LiveTrace(trace_id, runtime.config.experiment_id)
            if parent_id is None:
                current_scope = scope.get()
                if current_scope is not None:
                    trace.metadata.update(current_scope.metadata)
                    trace.tags.update(current_scope.tags)
        bridge.mirrors[context.span_id] = _new_mirror(trace, parent_id, span, span_id,
                                                      local_root)


def _new_mirror(
    trace: LiveTrace, parent_id: str | None, span: SdkSpan, span_id: str, local_root: bool
) -> CapturedSpan:
    mirror: CapturedSpan = runtime.new_span(  # type: ignore[assignment]
        trace, parent_id, span.name, SpanType.UNKNOWN, None, None, span.start_time,
        local_root=local_root, span_id=span_id, cls=CapturedSpan,
    )
    mirror._otel = None
    return mirror


def _trace_of(trace_id: str, parent_id: str, parent_context: Context | None) -> LiveTrace | None:
    """The lanterna trace of a parent span that is not a captured one: a lanterna span of this
    process (the current one, or one still open in its trace), else None (a remote parent)."""
    current = otel_trace.get_current_span(parent_context)
    if current.__class__ is bridge.LanternaSpanRef:
        candidate = current.lanterna  # type: ignore[attr-defined]
        if (isinstance(candidate, LiveSpan) and candidate.span_id == parent_id
                and candidate.trace_id == trace_id):
            return candidate._trace  # type: ignore[no-any-return]
    trace = runtime.live_traces.get(trace_id)
    if trace is not None and parent_id in trace.open:
        return trace
    return None


class CapturedSpan(LiveSpan):
    """The lanterna mirror of an OpenTelemetry span. The caller's thread only ends it; the
    conventions are mapped when the export thread freezes it (``to_immutable_span``), so
    capturing costs the instrumented code little."""

    __slots__ = ("_otel",)

    _otel: ReadableSpan | None

    def to_immutable_span(self) -> Span:
        otel_span, self._otel = self._otel, None
        if otel_span is not None:
            try:
                _map_conventions(self, otel_span)
            except Exception as exc:
                _errors.report(exc, "mapping an OpenTelemetry span's attributes")
        return super().to_immutable_span()


def _end(mirror: CapturedSpan, span: ReadableSpan) -> None:
    """On the thread that ends the OTel span: status, time, and into the export queue."""
    trace: LiveTrace = mirror._trace
    attributes = span.attributes
    if attributes and attributes.get(_LOGFIRE_KIND) == "pending_span":
        # A Logfire start marker, not a span of its own: the real one follows.
        trace.open.pop(mirror._span_id, None)
        if trace.root is mirror:
            runtime.live_traces.pop(trace.trace_id, None)
        return
    mirror._otel = span
    code = _STATUS.get(span.status.status_code)
    if mirror._status.status_code is SpanStatusCode.UNSET:
        mirror._status = SpanStatus(code, span.status.description or "") if code else _OK
    runtime.finish(mirror, span.end_time)


def _map_conventions(mirror: LiveSpan, span: ReadableSpan) -> None:
    """On the export thread: the OTel attributes, events and links, mapped to lanterna's
    fields by the shared conventions (lanterna.otel.conventions)."""
    from lanterna.otel.conventions import MISSING, normalize_attributes

    attributes = dict(span.attributes or {})
    events = [(event.name, dict(event.attributes or {})) for event in span.events]
    normalized = normalize_attributes(attributes, span.name, events, mirror._span_type)
    trace: LiveTrace = mirror._trace
    mirror._name = normalized.name
    if normalized.span_type:
        mirror._span_type = normalized.span_type
    if normalized.inputs is not MISSING and mirror._inputs is None:
        mirror._inputs = snapshot(normalized.inputs)
    if normalized.outputs is not MISSING and not mirror._outputs_set:
        mirror._outputs = snapshot(normalized.outputs)
    own = mirror._attributes  # set through lanterna's API while the span ran: these win
    merged: dict[str, Any] = {k: snapshot(_plain(v)) for k, v in normalized.attributes.items()}
    scope = span.instrumentation_scope
    merged[SCOPE_ATTRIBUTE] = scope.name if scope is not None else ""
    merged.update(own)
    mirror._attributes = merged
    if span.events:
        mirror._events = [
            SpanEvent(event.name, event.timestamp,
                      {k: snapshot(_plain(v)) for k, v in (event.attributes or {}).items()})
            for event in span.events
        ] + list(mirror._events)
    _trace_fields(trace, mirror, normalized)
    if span.links:
        mirror._links = list(mirror._links) + [
            Link(f"tr-{link.context.trace_id:032x}", f"{link.context.span_id:016x}",
                 {k: _plain(v) for k, v in (link.attributes or {}).items()})
            for link in span.links
        ]


def _trace_fields(trace: LiveTrace, mirror: LiveSpan, normalized: Any) -> None:
    if normalized.session_id:
        trace.metadata.setdefault(TraceMetadataKey.SESSION, str(normalized.session_id))
    if normalized.user_id:
        trace.metadata.setdefault(TraceMetadataKey.USER, str(normalized.user_id))
    if trace.root is mirror:
        trace.tags.update(normalized.trace_tags)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def capture(provider: TracerProvider | None = None) -> SpanProcessor:
    """Stores the spans of ``provider`` (default: the global one) in lanterna.

    With no global SDK provider set yet, sets one (an SDK ``TracerProvider`` with default
    settings), so instrumentors that use the global provider are captured. Calling it again for
    the same provider returns the processor already added.
    """
    if provider is None:
        current = otel_trace.get_tracer_provider()
        if isinstance(current, TracerProvider):
            provider = current
        else:
            provider = TracerProvider()
            otel_trace.set_tracer_provider(provider)
            current = otel_trace.get_tracer_provider()
            if isinstance(current, TracerProvider):  # another provider was set first
                provider = current
    with _capture_lock:
        existing = _captured.get(id(provider))
        if existing is not None and existing[0] is provider:
            return existing[1]
        processor = SpanProcessor()
        provider.add_span_processor(processor)
        _captured[id(provider)] = (provider, processor)
        return processor


_captured: dict[int, tuple[TracerProvider, SpanProcessor]] = {}
_capture_lock = threading.Lock()
