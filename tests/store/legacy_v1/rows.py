"""Entities to rows and back: what each column holds.

Text bound for PostgreSQL loses NUL characters (it cannot store them); JSON content keeps them
escaped, so nothing of the span itself is lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey, TraceTagKey
from lanterna.entities.trace_state import TraceState

#: Full-text search reads at most this much of one span.
SEARCH_TEXT_CHARS = 1_000_000
#: Tag and metadata keys longer than this are cut (as MLflow does).
KEY_CHARS = 250
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode
_ENCODE_ASCII = json.JSONEncoder(default=str).encode


def clean(text: str | None) -> str | None:
    if text is None or "\x00" not in text:
        return text
    return text.replace("\x00", "\ufffd")


def _encodable(text: str) -> bool:
    """False for text holding lone surrogates, which no database takes as UTF-8."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def span_content(span: Span) -> str:
    """``Span.to_dict()`` as JSON text; readable non-ASCII, escaped when it cannot be encoded."""
    data = span.to_dict()
    content = _ENCODE(data)
    return content if _encodable(content) else _ENCODE_ASCII(data)


#: Column order of a span row (``spans`` table, without SQLite's ``seq``).
SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "type", "status", "start_time_ns",
    "end_time_ns", "content", "attributes", "search_text",
)


def span_row(span: Span, content: str, postgres: bool) -> tuple[Any, ...]:
    attributes: dict[str, Any] = {SpanAttributeKey.SPAN_TYPE: span._span_type}
    attributes.update(span.own_attributes)
    name, kind, search = span._name, span._span_type, search_text(span)
    if postgres:
        name, kind, search = clean(name) or "", clean(kind) or "", clean(search) or ""
    return (
        span._trace_id, span._span_id, span._parent_id, name, kind,
        span._status.status_code.value, span._start_ns, span._end_ns, content,
        _json_text(attributes, postgres), search,
    )


def _json_text(value: Any, postgres: bool) -> str:
    text = _ENCODE(value)
    if not _encodable(text):
        text = _ENCODE_ASCII(value)
    if postgres and "\\u0000" in text:  # jsonb refuses NUL characters
        text = text.replace("\\u0000", "\\ufffd")
    return text


def search_text(span: Span) -> str:
    """The words of a span: its name and every string or number in its inputs, outputs,
    attributes, status message and events, one per line."""
    out: list[str] = [span._name]
    _leaves(span.inputs, out, 0)
    _leaves(span.outputs, out, 0)
    _leaves(span.own_attributes, out, 0)
    if span._status.description:
        out.append(span._status.description)
    for event in span._events:
        out.append(event.name)
        _leaves(event.attributes, out, 0)
    text = "\n".join(out)
    if len(text) > SEARCH_TEXT_CHARS:
        text = text[:SEARCH_TEXT_CHARS]
    return text if _encodable(text) else text.encode("utf-8", "replace").decode("utf-8")


def _leaves(value: Any, out: list[str], depth: int) -> None:
    kind = type(value)
    if kind is str:
        out.append(value)
    elif depth > 100:
        return
    elif kind is dict:
        for item in value.values():
            _leaves(item, out, depth + 1)
    elif kind is list or kind is tuple:
        for item in value:
            _leaves(item, out, depth + 1)
    elif (kind is int or kind is float) and value == value:
        out.append(repr(value))
    elif isinstance(value, str):
        out.append(str(value))


#: Column order of a trace row (``traces`` table).
TRACE_COLUMNS = (
    "trace_id", "experiment_id", "timestamp_ms", "execution_time_ms", "end_time_ms", "state",
    "name", "client_request_id", "request_preview", "response_preview", "session_id",
    "user_id", "input_tokens", "output_tokens", "total_tokens", "size_bytes",
)


def trace_row(info: TraceInfo, size_bytes: int | None, postgres: bool) -> tuple[Any, ...]:
    c = clean if postgres else _same
    usage = info.token_usage or {}
    duration = info.execution_duration
    metadata = info.trace_metadata
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
    )


def _same(text: str | None) -> str | None:
    return text


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


def trace_info(row: Any, tags: dict[str, str], metadata: dict[str, str]) -> TraceInfo:
    return TraceInfo(
        trace_id=row.trace_id,
        experiment_id=row.experiment_id,
        request_time=int(row.timestamp_ms),
        state=TraceState.coerce(row.state),
        request_preview=row.request_preview,
        response_preview=row.response_preview,
        client_request_id=row.client_request_id,
        execution_duration=None if row.execution_time_ms is None else int(row.execution_time_ms),
        trace_metadata=metadata,
        tags=tags,
    )


def spans_from_contents(contents: Iterable[str]) -> list[Span]:
    return [Span.from_dict(json.loads(content)) for content in contents]

