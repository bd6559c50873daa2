"""One current span for lanterna and OpenTelemetry: the context bridge.

lanterna keeps its current span in a ``ContextVar`` of its own; OpenTelemetry keeps a
``Context`` in its runtime context. The bridge wraps OpenTelemetry's runtime context so that
both always agree on the innermost span, whichever library started it:

* reading OpenTelemetry's current context while a lanterna span is the innermost one answers a
  context whose span is that lanterna span (a ``LanternaSpanRef``), so OTel spans, samplers and
  propagators see it as the parent;
* attaching an OpenTelemetry context (``start_as_current_span``, ``use_span``, a propagator's
  extracted context) also makes its span lanterna's current span: the lanterna mirror of a span
  a ``lanterna.otel.SpanProcessor`` captures, else a remote parent with the same ids and
  sampling flag, so lanterna spans started inside join the same trace (or are sampled out with
  it).

The user's own runtime context implementation stays in place underneath; nothing changes for
OpenTelemetry code when no lanterna span is involved.
"""

from __future__ import annotations

import threading
from contextvars import ContextVar

from opentelemetry import context as otel_context
from opentelemetry.context.context import Context, _RuntimeContext
from opentelemetry.trace import (
    NonRecordingSpan,
    SpanContext,
    Status,
    StatusCode,
    TraceFlags,
)
from opentelemetry.trace.propagation import _SPAN_KEY

from lanterna.entities.span import LiveSpan, NoOpSpan
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.tracing.context import RemoteParent, current_span
from lanterna.tracing.runtime import open_ancestor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from opentelemetry.trace import Span as OtelSpan

#: lanterna mirrors of the OTel spans a SpanProcessor is recording, by OTel span id.
mirrors: dict[int, LiveSpan] = {}

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_install_lock = threading.Lock()


class OtelParent(RemoteParent):
    """An OpenTelemetry span that is not captured, as lanterna's current span: lanterna spans
    started inside continue its trace. Its ids are written out only if one is (an OTel span
    is attached far more often than a lanterna span starts inside it)."""

    __slots__ = ("context",)

    def __init__(self, context: SpanContext) -> None:  # noqa: D107 - no base init: lazy ids
        self.context = context

    @property
    def trace_id(self) -> str:  # type: ignore[override]
        return "tr-" + self.context.trace_id.to_bytes(16, "big").hex()

    @property
    def span_id(self) -> str:  # type: ignore[override]
        return self.context.span_id.to_bytes(8, "big").hex()

    @property
    def sampled(self) -> bool:  # type: ignore[override]
        return bool(self.context.trace_flags.sampled)


def span_context_of(span: LiveSpan | RemoteParent) -> SpanContext:
    """The OpenTelemetry ``SpanContext`` with the ids of a lanterna span (same 128-bit trace)."""
    if span.__class__ is OtelParent:
        return span.context  # type: ignore[union-attr, no-any-return]
    is_remote = span.__class__ is RemoteParent
    sampled = span.sampled if is_remote else True  # type: ignore[union-attr]
    return SpanContext(
        trace_id=int(span.trace_id.removeprefix("tr-"), 16),
        span_id=int(span.span_id, 16),  # type: ignore[arg-type]
        is_remote=is_remote,
        trace_flags=_SAMPLED if sampled else _NOT_SAMPLED,
    )


class LanternaSpanRef(NonRecordingSpan):
    """A lanterna span as OpenTelemetry sees it. Attributes, events and status set through it
    (``trace.get_current_span().set_attribute(...)``) land on the lanterna span; lanterna ends
    it, so ``end()`` does nothing."""

    def __init__(self, span: LiveSpan | RemoteParent) -> None:
        super().__init__(span_context_of(span))
        self.lanterna = span

    def is_recording(self) -> bool:
        span = self.lanterna
        return isinstance(span, LiveSpan) and not span.is_ended

    def _live(self) -> LiveSpan | None:
        span = self.lanterna
        return span if isinstance(span, LiveSpan) else None

    def set_attribute(self, key: str, value: Any) -> None:
        live = self._live()
        if live is not None:
            live.set_attribute(key, list(value) if isinstance(value, tuple) else value)

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        for key, value in attributes.items():
            self.set_attribute(key, value)

    def add_event(
        self, name: str, attributes: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> None:
        live = self._live()
        if live is not None:
            from lanterna.entities.span_event import SpanEvent

            live.add_event(SpanEvent(name, timestamp, dict(attributes or {})))

    def update_name(self, name: str) -> None:
        live = self._live()
        if live is not None and not live.is_ended:
            live._name = str(name)

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        live = self._live()
        if live is None:
            return
        if isinstance(status, Status):
            description = status.description
            status = status.status_code
        code = {StatusCode.OK: SpanStatusCode.OK, StatusCode.ERROR: SpanStatusCode.ERROR}.get(
            status, SpanStatusCode.UNSET)
        live.set_status(SpanStatus(code, description or ""))

    def record_exception(
        self, exception: BaseException, attributes: Any = None, timestamp: int | None = None,
        escaped: bool = False,
    ) -> None:
        live = self._live()
        if live is not None:
            live.record_exception(exception)

    def __repr__(self) -> str:
        return f"LanternaSpanRef({self.lanterna!r})"


def lanterna_view(ctx: Context) -> LiveSpan | RemoteParent | None:
    """The lanterna current span that matches the span of an OpenTelemetry context (on every
    OTel ``attach``: kept short)."""
    span: OtelSpan | None = ctx.get(_SPAN_KEY)  # type: ignore[assignment]
    if span is None:
        return None
    if span.__class__ is LanternaSpanRef:
        return span.lanterna  # type: ignore[no-any-return]
    span_context = span.get_span_context()
    mirror = mirrors.get(span_context.span_id)  # span ids are 64 random bits: no trace check
    if mirror is not None:
        return mirror
    if not span_context.is_valid:
        return None
    return OtelParent(span_context)


def _agrees(otel_span: OtelSpan | None, lanterna: LiveSpan | RemoteParent) -> bool:
    if otel_span is None:
        return False
    if otel_span.__class__ is LanternaSpanRef:
        return otel_span.lanterna is lanterna  # type: ignore[attr-defined, no-any-return]
    context = otel_span.get_span_context()
    if lanterna.__class__ is OtelParent:
        return lanterna.context.span_id == context.span_id  # type: ignore[union-attr]
    return mirrors.get(context.span_id) is lanterna or (
        lanterna.__class__ is RemoteParent
        and context.span_id.to_bytes(8, "big").hex() == lanterna.span_id)


_get_lanterna = current_span.get
_set_lanterna = current_span.set
_reset_lanterna = current_span.reset


class BridgedRuntimeContext(_RuntimeContext):
    """OpenTelemetry's runtime context, wrapped so it agrees with lanterna's current span."""

    def __init__(self, inner: _RuntimeContext) -> None:
        self.inner = inner
        # OpenTelemetry's own implementation keeps the context in a ContextVar: read it
        # directly (get_current runs several times per OTel span).
        var = getattr(inner, "_current_context", None)
        self._get_inner = var.get if isinstance(var, ContextVar) else inner.get_current
        # Last answer of get_current (otel context, lanterna span, merged context): OTel reads
        # the current context many times per span, the answer rarely changes in between.
        self._last: tuple[Context, object, Context] | None = None

    def attach(self, context: Context) -> Any:
        """Returns (the wrapped context's token, lanterna's token): a tuple, which no
        runtime context's own token is."""
        return (self.inner.attach(context), _set_lanterna(lanterna_view(context)))

    def detach(self, token: Any) -> None:
        if token.__class__ is tuple:
            try:  # noqa: SIM105 - cheaper than contextlib.suppress on every OTel span
                _reset_lanterna(token[1])
            except ValueError:  # detached in another context than attached
                pass
            self.inner.detach(token[0])
        else:  # attached before the bridge was installed
            self.inner.detach(token)

    def get_current(self) -> Context:
        ctx: Context = self._get_inner()
        lanterna = _get_lanterna()
        if lanterna is None or lanterna.__class__ is NoOpSpan:
            return ctx
        if isinstance(lanterna, LiveSpan) and lanterna._end_ns is not None:
            # Context managers exited out of order left an ended span current: as for
            # lanterna's own spans, its nearest open ancestor is the current span.
            lanterna = open_ancestor(lanterna)
            if lanterna is None:
                return ctx
        last = self._last
        if last is not None and last[0] is ctx and last[1] is lanterna:
            return last[2]
        if _agrees(ctx.get(_SPAN_KEY), lanterna):  # type: ignore[arg-type]
            merged = ctx
        else:
            merged = otel_context.set_value(
                _SPAN_KEY, LanternaSpanRef(lanterna), ctx)  # type: ignore[arg-type]
        self._last = (ctx, lanterna, merged)
        return merged


def install() -> None:
    """Wraps OpenTelemetry's runtime context once (idempotent)."""
    with _install_lock:
        runtime = otel_context._RUNTIME_CONTEXT
        if not isinstance(runtime, BridgedRuntimeContext):
            otel_context._RUNTIME_CONTEXT = BridgedRuntimeContext(runtime)


def installed() -> bool:
    return isinstance(otel_context._RUNTIME_CONTEXT, BridgedRuntimeContext)
