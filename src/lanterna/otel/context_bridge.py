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

import contextlib
import threading

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

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token
    from typing import Any

    from opentelemetry.trace import Span as OtelSpan

#: lanterna mirrors of the OTel spans a SpanProcessor is recording, by OTel span id.
mirrors: dict[int, LiveSpan] = {}

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
_install_lock = threading.Lock()


def span_context_of(span: LiveSpan | RemoteParent) -> SpanContext:
    """The OpenTelemetry ``SpanContext`` with the ids of a lanterna span (same 128-bit trace)."""
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
    """The lanterna current span that matches the span of an OpenTelemetry context."""
    span: OtelSpan | None = ctx.get(_SPAN_KEY)  # type: ignore[assignment]
    if span is None:
        return None
    if span.__class__ is LanternaSpanRef:
        return span.lanterna  # type: ignore[no-any-return]
    span_context = span.get_span_context()
    if not span_context.is_valid:
        return None
    mirror = mirrors.get(span_context.span_id)
    if mirror is not None and int(mirror.trace_id[3:], 16) == span_context.trace_id:
        return mirror
    return RemoteParent(f"tr-{span_context.trace_id:032x}", f"{span_context.span_id:016x}",
                        span_context.trace_flags.sampled)


def _agrees(otel_span: OtelSpan | None, lanterna: LiveSpan | RemoteParent) -> bool:
    if otel_span is None:
        return False
    if otel_span.__class__ is LanternaSpanRef:
        return otel_span.lanterna is lanterna  # type: ignore[attr-defined, no-any-return]
    span_id = otel_span.get_span_context().span_id
    return mirrors.get(span_id) is lanterna or (
        lanterna.__class__ is RemoteParent and f"{span_id:016x}" == lanterna.span_id)


class BridgeToken:
    """What ``attach`` returns: the wrapped runtime context's token and lanterna's."""

    __slots__ = ("otel", "lanterna")

    def __init__(self, otel: Token[Context], lanterna: Token[Any]) -> None:
        self.otel = otel
        self.lanterna = lanterna


class BridgedRuntimeContext(_RuntimeContext):
    """OpenTelemetry's runtime context, wrapped so it agrees with lanterna's current span."""

    def __init__(self, inner: _RuntimeContext) -> None:
        self.inner = inner
        # Last answer of get_current (otel context, lanterna span, merged context): OTel reads
        # the current context many times per span, the answer rarely changes in between.
        self._last: tuple[Context, object, Context] | None = None

    def attach(self, context: Context) -> Any:
        token = self.inner.attach(context)
        return BridgeToken(token, current_span.set(lanterna_view(context)))

    def detach(self, token: Any) -> None:
        if token.__class__ is BridgeToken:
            # Detached in another context than attached: nothing of lanterna's to restore.
            with contextlib.suppress(ValueError):
                current_span.reset(token.lanterna)
            self.inner.detach(token.otel)
        else:  # attached before the bridge was installed
            self.inner.detach(token)

    def get_current(self) -> Context:
        ctx = self.inner.get_current()
        lanterna = current_span.get()
        if lanterna is None or lanterna.__class__ is NoOpSpan:
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
