"""The tracing runtime: starting and finishing live spans on the caller's thread.

Everything here is on the hot path. Starting a span fills the slots of a ``LiveSpan``; finishing
it appends it to the export sink, which does the rest on a background thread.
"""

from __future__ import annotations

import threading
import time

from lanterna import _errors
from lanterna.entities._values import safe_text, snapshot
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import LiveSpan, NoOpSpan
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.span_type import SpanType
from lanterna.settings import setting
from lanterna.tracing import ids
from lanterna.tracing.context import RemoteParent, current_span, scope

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any


_time_ns = time.time_ns
_UNSET_STATUS = SpanStatus(SpanStatusCode.UNSET)

NOOP_SPAN = NoOpSpan()

if TYPE_CHECKING:
    SpanProcessor = Callable[[LiveSpan], None]


class Config:
    """Switches read on the hot path; replaced as a whole by ``tracing.configure``/``reset``."""

    __slots__ = ("enabled", "sampling_ratio", "processors", "propagate_to_threads",
                 "experiment_id")

    def __init__(self) -> None:
        self.enabled: bool = True
        self.sampling_ratio: float = float(setting("sampling_ratio"))
        self.processors: tuple[SpanProcessor, ...] = ()
        self.propagate_to_threads: bool = bool(setting("propagate_to_threads"))
        self.experiment_id: str = "0"


config = Config()

# The export side registers itself here (see lanterna.export.pipeline); until then spans are
# kept nowhere, which only happens if the export package failed to import.
sink: Callable[[LiveSpan], None] = lambda span: None  # noqa: E731

#: Exports everything queued so far, waiting up to ``timeout`` s (the export side sets it).
flush: Callable[[float | None], bool] = lambda timeout: True  # noqa: E731

live_traces: dict[str, LiveTrace] = {}
_last_trace_id: list[str | None] = [None]
_thread_last = threading.local()
_on_first_span: list[Callable[[], None]] = []


def on_first_span(hook: Callable[[], None]) -> None:
    """Run ``hook`` once, just before the first span of the process starts."""
    _on_first_span.append(hook)


def _run_first_span_hooks() -> None:
    hooks = list(_on_first_span)
    _on_first_span.clear()
    for hook in hooks:
        try:
            hook()
        except Exception as exc:
            _errors.report(exc, "startup hook")


def tracing_active() -> bool:
    if not config.enabled:
        return False
    current_scope = scope.get()
    return current_scope is None or current_scope.enabled is not False


def start_span(
    name: str,
    span_type: str = SpanType.UNKNOWN,
    parent: LiveSpan | NoOpSpan | RemoteParent | None = None,
    inputs: Any = None,
    attributes: dict[str, Any] | None = None,
    start_time_ns: int | None = None,
    sampling_ratio: float | None = None,
    experiment_id: str | None = None,
) -> LiveSpan | NoOpSpan:
    """A new live span under ``parent`` (a new trace when ``parent`` is None)."""
    if _on_first_span:
        _run_first_span_hooks()
    if parent is None:
        ratio = config.sampling_ratio if sampling_ratio is None else sampling_ratio
        if ratio < 1.0 and not ids.sample(ratio):
            return NOOP_SPAN
        trace = LiveTrace(ids.new_trace_id(), experiment_id or config.experiment_id)
        current_scope = scope.get()
        if current_scope is not None:
            trace.metadata.update(current_scope.metadata)
            trace.tags.update(current_scope.tags)
        return new_span(trace, None, name, span_type, inputs, attributes, start_time_ns)
    if parent.__class__ is LiveSpan and parent._end_ns is None:  # type: ignore[union-attr]
        return new_span(parent._trace, parent.span_id, name, span_type,  # type: ignore[union-attr]
                        inputs, attributes, start_time_ns)
    if parent.__class__ is NoOpSpan:
        return NOOP_SPAN
    if isinstance(parent, RemoteParent):  # continuing a trace started in another process
        remote: RemoteParent = parent
        if not remote.sampled:
            return NOOP_SPAN
        trace = LiveTrace(remote.trace_id, experiment_id or config.experiment_id)
        return new_span(trace, remote.span_id, name, span_type, inputs, attributes,
                        start_time_ns, local_root=True)
    if parent.__class__ is LiveSpan:  # ended (the open case returned above)
        # Context managers exited out of order left an ended span current: its nearest open
        # ancestor is the parent (a new trace if none is open).
        open_parent = open_ancestor(parent)  # type: ignore[arg-type]
        if open_parent is None:
            return start_span(name, span_type, None, inputs, attributes, start_time_ns,
                              sampling_ratio, experiment_id)
        parent = open_parent
    # A LiveSpan subclass: an OpenTelemetry span lanterna captures.
    return new_span(parent._trace, parent.span_id, name, span_type,  # type: ignore[union-attr]
                    inputs, attributes, start_time_ns)


def open_ancestor(span: LiveSpan) -> LiveSpan | None:
    """``span`` if it is still open, else its nearest ancestor that is (None if none is)."""
    trace = span._trace
    while span._end_ns is not None:
        parent_id = span._parent_id
        found = trace.open.get(parent_id) if parent_id is not None else None
        if found is None:
            return None
        span = found
    return span


def new_span(
    trace: LiveTrace,
    parent_id: str | None,
    name: str,
    span_type: str,
    inputs: Any,
    attributes: dict[str, Any] | None,
    start_time_ns: int | None,
    local_root: bool = False,
    span_id: str | None = None,
    cls: type[LiveSpan] = LiveSpan,
) -> LiveSpan:
    """A live span of ``trace``; the trace's root (in this process) when ``parent_id`` is None
    or ``local_root`` is set (its parent then lives in another process). ``span_id`` is given
    for spans whose id another tracer chose (OpenTelemetry spans lanterna captures, whose
    ``cls`` is a LiveSpan subclass)."""
    span = cls.__new__(cls)
    span._trace = trace
    span._trace_id = trace.trace_id
    span._span_id = span_id = span_id or ids.new_span_id()
    span._parent_id = parent_id
    span._name = name if name.__class__ is str else safe_text(name)
    span._span_type = span_type if span_type.__class__ is str else safe_text(span_type)
    span._start_ns = start_time_ns or _time_ns()
    span._end_ns = None
    span._status = _UNSET_STATUS
    span._inputs = None if inputs is None else snapshot(inputs)
    span._outputs = None
    span._outputs_set = False
    span._events = ()
    span._links = ()
    span._attributes = {}
    if attributes:
        span.set_attributes(attributes)
    trace.open[span_id] = span
    if parent_id is None or local_root:
        trace.root = span
        live_traces[trace.trace_id] = trace
    else:
        trace.children = True
    return span


def add_links(span: LiveSpan | NoOpSpan, links: Iterable[Any] | None) -> None:
    """The ``links=`` of MLflow's span-starting functions: each one added to the new span."""
    if links and span.__class__ is LiveSpan:
        for link in links:
            span.add_link(link)


def finish(span: LiveSpan, end_time_ns: int | None = None) -> None:
    """Ends a live span: runs span processors, then hands the span to the export sink."""
    processors = config.processors
    if processors:
        _run_processors(processors, span)
    span._end_ns = end_time_ns or _time_ns()
    trace: LiveTrace = span._trace
    trace.open.pop(span._span_id, None)
    if span is trace.root:
        trace.ended = True
        live_traces.pop(trace.trace_id, None)
        _last_trace_id[0] = trace.trace_id
        _thread_last.trace_id = trace.trace_id
    sink(span)


LiveSpan._finish = finish


#: The note a span carries when a span processor of the user's failed on it.
PROCESSOR_FAILED_ATTRIBUTE = "lanterna.processorFailed"


def _run_processors(processors: Iterable[SpanProcessor], span: LiveSpan) -> None:
    for processor in processors:
        try:
            processor(span)
        except Exception as exc:
            _withhold_values(span, processor, exc)
            return


def _withhold_values(span: LiveSpan, processor: SpanProcessor, exc: Exception) -> None:
    """Fail closed: a processor (e.g. one redacting secrets) that raised may have left the
    span's values unredacted, so none of them leave the process; the span is still stored,
    with a note saying which processor failed."""
    name = getattr(processor, "__qualname__", None) or type(processor).__name__
    try:
        reason = f"{type(exc).__name__}: {exc}"
    except Exception:
        reason = type(exc).__name__
    note = (f"your span processor {name} raised {reason[:300]}; the span's inputs, outputs, "
            "attributes and events were withheld")
    span._inputs = None
    span._outputs = None
    span._events = ()
    span._attributes = {PROCESSOR_FAILED_ATTRIBUTE: note}
    from lanterna import _log

    _log.warning("lanterna: %s (span %r of trace %s). Fix the processor passed to "
                 "lanterna.tracing.configure(span_processors=...).", note, span._name,
                 span._trace_id)


def last_trace_id(thread_local: bool = False) -> str | None:
    if thread_local:
        return getattr(_thread_last, "trace_id", None)
    return _last_trace_id[0]


def current_live_span() -> LiveSpan | None:
    """The current span; never an ended one (see ``open_ancestor``)."""
    span = current_span.get()
    if span.__class__ is not LiveSpan and not isinstance(span, LiveSpan):  # or captured
        return None  # from OpenTelemetry
    if span._end_ns is not None:  # type: ignore[union-attr]
        return open_ancestor(span)  # type: ignore[arg-type]
    return span  # type: ignore[return-value]


def reset() -> None:
    """Forget live traces and the last trace id (tests, ``tracing.reset``)."""
    live_traces.clear()
    _last_trace_id[0] = None
    _thread_last.__dict__.clear()
