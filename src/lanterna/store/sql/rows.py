"""Entities to rows and back: what each column holds.

A span is encoded once, on the export thread: its inputs, outputs, other attributes and events
each become one JSON text (``codec``: orjson when it is exact). Read back, those texts stay
undecoded until a caller looks at them (``StoredValues``), so a search page or a huge trace
costs little more than its rows. Text bound for PostgreSQL loses NUL characters (it cannot
store them) except inside the JSON texts, where they stay escaped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from lanterna.entities.span import STATUS_OK, Span, SpanAttributeKey
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey, TraceTagKey
from lanterna.entities.trace_state import TraceState
from lanterna.store.sql import codec

#: Full-text search reads at most this much of one span.
SEARCH_TEXT_CHARS = 1_000_000
#: Tag and metadata keys longer than this are cut (as MLflow does).
KEY_CHARS = 250
_SPAN_TYPE = SpanAttributeKey.SPAN_TYPE


def clean(text: str | None) -> str | None:
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def _same(text: str | None) -> str | None:
    return text


def _encodable(text: str) -> bool:
    """False for text holding lone surrogates, which no database takes as UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def utf8_length(text: str | None) -> int:
    if text is None:
        return 0
    return len(text) if text.isascii() else len(text.encode("utf-8", "replace"))


#: Column order of a span row (``spans`` table, without SQLite's ``seq``).
SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "type", "status", "status_message",
    "start_time_ns", "end_time_ns", "inputs", "outputs", "attributes", "events", "links",
    "search_text",
)
#: Where the JSON texts sit in a span row (their lengths make the trace's size).
JSON_COLUMNS = (9, 10, 11, 12, 13)


def span_row(span: Span, postgres: bool) -> tuple[Any, ...]:
    """The row of one span: each of its values encoded once."""
    dumps = codec.dumps
    inputs, outputs, own = span.inputs, span.outputs, span.own_attributes
    attributes = {_SPAN_TYPE: span._span_type, **own} if own else {_SPAN_TYPE: span._span_type}
    attributes_json = dumps(attributes)
    events = span._events
    events_json = dumps([e.to_dict() for e in events]) if events else None
    links = span._links
    links_json = dumps([link.to_dict() for link in links]) if links else None
    status = span._status
    name, kind, message = span._name, span._span_type, status.description or None
    search = search_text(name, inputs, outputs, own, message, events)
    if postgres:
        name, kind, message = clean(name) or "", clean(kind) or "", clean(message)
        search = clean(search) or ""
    return (
        span._trace_id, span._span_id, span._parent_id, name, kind,
        "OK" if status is STATUS_OK else status.status_code.value,  # ``.value``: a slow property
        message, span._start_ns, span._end_ns,
        None if inputs is None else dumps(inputs),
        None if outputs is None else dumps(outputs),
        attributes_json, events_json, links_json, search,
    )


def search_text(
    name: str, inputs: Any, outputs: Any, attributes: dict[str, Any], message: str | None,
    events: Any,
) -> str:
    """The words of a span: its name and every string or number in its inputs, outputs,
    attributes, status message and events, one per line."""
    out: list[str] = [name]
    _leaves(inputs, out, 0)
    _leaves(outputs, out, 0)
    _leaves(attributes, out, 0)
    if message:
        out.append(message)
    for event in events:
        out.append(event.name)
        _leaves(event.attributes, out, 0)
    text = "\n".join(out)
    if len(text) > SEARCH_TEXT_CHARS:
        text = text[:SEARCH_TEXT_CHARS]
    return text if _encodable(text) else text.encode("utf-8", "replace").decode("utf-8")


def _leaves(value: Any, out: list[str], depth: int) -> None:
    """Appends the strings and numbers in ``value`` (hot: atoms inside containers are handled
    inline, without a call each)."""
    kind = type(value)
    if kind is str:
        out.append(value)
        return
    if kind is dict:
        items: Any = value.values()
    elif kind is list or kind is tuple:
        items = value
    else:
        _leaf(value, out)
        return
    if depth > 100:
        return
    append = out.append
    for item in items:
        kind = type(item)
        if kind is str:
            append(item)
        elif kind is int or kind is float:
            if item == item:  # not NaN
                try:  # noqa: SIM105 (hot loop: cheaper than contextlib.suppress)
                    append(repr(item))
                except ValueError:  # an int past Python's digit limit: no searchable text
                    pass
        elif kind is dict or kind is list or kind is tuple:
            _leaves(item, out, depth + 1)
        elif item is not None and kind is not bool:
            _leaf(item, out)


def _leaf(value: Any, out: list[str]) -> None:
    kind = type(value)
    if (kind is int or kind is float) and value == value:
        try:  # noqa: SIM105 (hot loop: cheaper than contextlib.suppress)
            out.append(repr(value))
        except ValueError:  # an int past Python's digit limit: no searchable text
            pass
    elif isinstance(value, str):
        out.append(str(value))


class StoredValues:
    """A stored span's inputs, outputs and attributes, still JSON text: ``Span`` decodes them
    on first read (see ``Span._decode``)."""

    __slots__ = ("inputs", "outputs", "attributes")

    def __init__(self, inputs: str | None, outputs: str | None, attributes: str | None) -> None:
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes

    def decode(self) -> tuple[Any, Any, dict[str, Any]]:
        loads = codec.loads
        attributes = loads(self.attributes) if self.attributes else {}
        if type(attributes) is not dict:
            attributes = {}
        attributes.pop(_SPAN_TYPE, None)
        return (
            None if self.inputs is None else loads(self.inputs),
            None if self.outputs is None else loads(self.outputs),
            attributes,
        )


_STATUSES = {code.value: SpanStatus(code) for code in SpanStatusCode}


def span_from_row(
    trace_id: str, span_id: str, parent_id: str | None, name: str, kind: str, status: str,
    message: str | None, start: int, end: int | None, inputs: str | None, outputs: str | None,
    attributes: str | None, events: str | None, links: str | None,
) -> Span:
    """A span from its columns, without decoding its values (``_PENDING`` until read)."""
    from lanterna.entities.span import _PENDING

    span = Span.__new__(Span)
    span._trace_id = trace_id
    span._span_id = span_id
    span._parent_id = parent_id
    span._name = name
    span._span_type = kind
    span._start_ns = int(start)
    span._end_ns = None if end is None else int(end)
    span._status = _STATUSES[status] if not message else SpanStatus(status, message)
    span._inputs = _PENDING
    span._outputs = None
    span._attributes = StoredValues(inputs, outputs, attributes)  # type: ignore[assignment]
    span._events = [SpanEvent.from_dict(e) for e in codec.loads(events)] if events else ()
    span._links = [Link.from_dict(k) for k in codec.loads(links)] if links else ()
    return span


#: Column order of a trace row (``traces`` table).
TRACE_COLUMNS = (
    "trace_id", "experiment_id", "timestamp_ms", "execution_time_ms", "end_time_ms", "state",
    "name", "client_request_id", "request_preview", "response_preview", "session_id",
    "user_id", "input_tokens", "output_tokens", "total_tokens", "size_bytes", "metadata",
)


def trace_row(info: TraceInfo, size_bytes: int | None, postgres: bool) -> tuple[Any, ...]:
    c = clean if postgres else _same
    usage = info.token_usage or {}
    duration = info.execution_duration
    metadata = info.trace_metadata
    stored = {c(str(k)[:KEY_CHARS]): c(str(v)) for k, v in metadata.items()}
    if size_bytes is not None:
        stored[TraceMetadataKey.SIZE_BYTES] = str(size_bytes)
    return (
        info.trace_id,
        info.experiment_id or "0",
        info.request_time,
        duration,
        None if duration is None else info.request_time + duration,
        info.state.value,
        c(info.tags.get(TraceTagKey.TRACE_NAME)),
        c(info.client_request_id),
        c(info.request_preview),
        c(info.response_preview),
        c(metadata.get(TraceMetadataKey.SESSION)),
        c(metadata.get(TraceMetadataKey.USER)),
        _int(usage.get("input_tokens")),
        _int(usage.get("output_tokens")),
        _int(usage.get("total_tokens")),
        size_bytes,
        codec.dumps(stored),
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def key_value_rows(
    trace_id: str, values: Mapping[str, str], postgres: bool
) -> Iterator[tuple[str, str, str]]:
    """(trace_id, key, value) rows; keys cut to ``KEY_CHARS``."""
    for key, value in values.items():
        key, value = str(key)[:KEY_CHARS], str(value)
        if postgres:
            key, value = clean(key) or "", clean(value) or ""
        yield trace_id, key, value


def decode_metadata(raw: Any) -> dict[str, str]:
    """The metadata column: JSON text (SQLite), a dict already (PostgreSQL), or NULL."""
    if raw is None:
        return {}
    if isinstance(raw, dict):
        return raw
    found = codec.loads(raw)
    return found if isinstance(found, dict) else {}


def trace_info(row: Any, tags: dict[str, str]) -> TraceInfo:
    return TraceInfo(
        trace_id=row.trace_id,
        experiment_id=row.experiment_id,
        request_time=int(row.timestamp_ms),
        state=TraceState.coerce(row.state),
        request_preview=row.request_preview,
        response_preview=row.response_preview,
        client_request_id=row.client_request_id,
        execution_duration=None if row.execution_time_ms is None else int(row.execution_time_ms),
        trace_metadata=decode_metadata(row.metadata),
        tags=tags,
    )
