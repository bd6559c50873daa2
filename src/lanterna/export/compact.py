"""Finished spans as tuples while they wait for export.

A program that records spans faster than the store takes them keeps a backlog of finished
spans. Kept as live objects (a ``LiveSpan`` and its ``LiveTrace`` pointing at each other), each
would be scanned by Python's cyclic garbage collector on the caller's thread, again and again,
and each would promote work to the oldest generation, triggering full collections of the
caller's whole heap. So when a trace of one span ends, the caller's thread packs it into a tuple
of atoms (strings, numbers, its values as bytes) and lets the live pair go at once: the
collector untracks such a tuple the first time it meets it, and there is no cycle left to find.

Child spans (traces of several spans) are packed the same way once a backlog builds up (the
pipeline asks past ``PACK_CHILDREN_AFTER`` queued spans): their trace record stays live, one
per trace, registered by trace id for the export thread to assemble the trace with. Measured
with 100-span traces in a tight loop, the live backlog set off a full collection of the
caller's heap about once per 20,000 spans (27 ms each), 1.3 µs per span on average; packing
costs the caller about 0.5 µs per child span and the export thread a little more (persisted
10-span traces: about 7% fewer spans/s), so below the threshold, where spans leave the queue
young, they travel live. Roots of several-span traces and spans with events or links always
travel live.

The span's values go in as one ``marshal`` text (bytes), not as the snapshot's dicts and lists:
the collector never untracks a list, untracks a dict only in a full collection, and untracks a
tuple only once what it holds is untracked (one level per collection, and never while it holds
a dict). A backlog of 100,000 spans whose outputs held one list each kept 300,000 objects
tracked, and every full collection (run on whichever thread allocates, the caller's too)
scanned them all: seven of about 90 ms per 100,000 spans, measured on the caller's thread. As
bytes, the tuple holds atoms only and is untracked at the first collection. A single-span
trace's ids and times go in the bytes too, which then hold most of what a queued trace weighs
(about 0.3 KB for a small span). ``marshal`` is the interpreter's own format: it keeps every
snapshot value exactly (lists, ints of any size, NaN) and costs about 0.7 µs per single-span
trace. A value it cannot write (text with a lone surrogate) keeps the live path.
"""

from __future__ import annotations

import marshal

from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import STATUS_OK, LiveSpan, Span
from lanterna.entities.span_status import SpanStatus, SpanStatusCode

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_STATUSES = {code.value: SpanStatus(code) for code in SpanStatusCode}
_STATUSES["OK"] = STATUS_OK  # shared, so later steps can tell it by identity
#: ``marshal``'s format 2 writes no back-references: a quarter faster than the default for the
#: small values of a span, and every version reads it back.
_FORMAT = 2
#: How many fields a packed child span has (a packed single-span trace has 11).
CHILD_FIELDS = 10


def pack(span: LiveSpan, traces: dict[str, LiveTrace] | None = None
         ) -> LiveSpan | tuple[Any, ...]:
    """The span as it should wait in the queue (caller's thread: keep this short). A child
    span is packed only when ``traces`` is given (a backlog is building up): its trace record
    is then registered there by id, for the export thread to assemble the trace with."""
    trace: LiveTrace = span._trace
    if span is not trace.root:
        if (traces is None or trace.ended or span._events or span._links
                or span.__class__ is not LiveSpan):
            return span
        try:
            values = marshal.dumps((span._inputs, span._outputs, span._attributes), _FORMAT)
        except ValueError:
            return span
        traces[span._trace_id] = trace
        status = span._status
        if status is STATUS_OK:  # shared by most spans; an enum's ``.value`` is a slow property
            code, description = "OK", ""
        else:
            code, description = status.status_code.value, status.description
        return (values, span._name, span._span_type, code, description, span._trace_id,
                span._span_id, span._parent_id, span._start_ns, span._end_ns)
    if (trace.children or span._events or span._links
            or trace.announced or span.__class__ is not LiveSpan):  # subclasses freeze late
        return span
    try:
        values = marshal.dumps((
            span._trace_id, span._span_id, span._parent_id, span._start_ns, span._end_ns,
            span._inputs, span._outputs, span._attributes, trace.tags, trace.metadata,
        ), _FORMAT)
    except ValueError:  # includes UnicodeEncodeError (lone surrogates)
        return span
    trace.root = None  # no span <-> trace cycle left for the collector to find
    status = span._status
    if status is STATUS_OK:
        code, description = "OK", ""
    else:
        code, description = status.status_code.value, status.description
    return (
        values, span._name, span._span_type, code, description,
        trace.experiment_id, trace.client_request_id, trace.state, trace.request_preview,
        trace.response_preview, trace.destination,
    )


def unpack(packed: tuple[Any, ...]) -> tuple[LiveTrace, Span]:
    """The trace record and the frozen span (export thread)."""
    (values, name, span_type, code, description, experiment_id, client_request_id, state,
     request_preview, response_preview, destination) = packed
    (trace_id, span_id, parent_id, start, end, inputs, outputs, attributes, tags,
     metadata) = marshal.loads(values)
    span = _frozen(trace_id, span_id, parent_id, name, span_type, start, end, code, description,
                   (inputs, outputs, attributes))
    trace = LiveTrace(trace_id, experiment_id)
    trace.tags = tags
    trace.metadata = metadata
    trace.ended = True
    for field, value in (("client_request_id", client_request_id), ("state", state),
                         ("request_preview", request_preview),
                         ("response_preview", response_preview), ("destination", destination)):
        if value is not None:
            setattr(trace, field, value)
    return trace, span


def unpack_child(packed: tuple[Any, ...]) -> Span:
    """A child span packed by ``pack``, frozen (export thread)."""
    (values, name, span_type, code, description, trace_id, span_id, parent_id, start,
     end) = packed
    return _frozen(trace_id, span_id, parent_id, name, span_type, start, end, code, description,
                   marshal.loads(values))


def _frozen(trace_id: str, span_id: str, parent_id: str | None, name: str, span_type: str,
            start: int, end: int, code: str, description: str,
            values: tuple[Any, Any, dict[str, Any]]) -> Span:
    span = Span.__new__(Span)
    span._trace_id = trace_id
    span._span_id = span_id
    span._parent_id = parent_id
    span._name = name
    span._span_type = span_type
    span._start_ns = start
    span._end_ns = end
    span._status = SpanStatus(code, description) if description else _STATUSES[code]
    span._inputs, span._outputs, span._attributes = values
    span._events = ()
    span._links = ()
    return span
