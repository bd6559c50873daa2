"""OTLP trace requests (protobuf or JSON) to lanterna spans, conventions applied.

Both encodings are first read into the same plain shape, a ``RawSpan`` (ids as hex text, times
as ints, attribute values decoded from AnyValues), then mapped through
``lanterna.otel.conventions`` into ``Span`` entities. Reading protobuf walks the parsed message
directly (``MessageToDict`` costs ~60 µs a span; this, a few µs).JSON is parsed
with the standard library; ids arrive as hex as the OTLP/JSON mapping says (base64 is accepted
too).

A span that cannot be read (bad ids, no name) is rejected alone, with a reason; the rest of the
request is kept.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from lanterna.entities._values import decode_attribute
from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.span_type import SpanType
from lanterna.otel.conventions import MISSING, normalize_attributes

_STATUS = {0: SpanStatusCode.UNSET, 1: SpanStatusCode.OK, 2: SpanStatusCode.ERROR}
_STATUS_NAMES = {
    "STATUS_CODE_UNSET": SpanStatusCode.UNSET, "STATUS_CODE_OK": SpanStatusCode.OK,
    "STATUS_CODE_ERROR": SpanStatusCode.ERROR,
}
_HEX = frozenset("0123456789abcdefABCDEF")
#: First characters of JSON text that is not a bare word (a native string such as ``LLM`` is
#: kept as it is without trying to parse it).
_JSON_STARTS = frozenset('"{[-0123456789tfn')


class BadRequest(ValueError):
    """The request as a whole cannot be read (answered with 400)."""


@dataclass
class Decoded:
    spans: list[Span] = field(default_factory=list)
    rejected: int = 0
    errors: list[str] = field(default_factory=list)
    skipped: int = 0  # Logfire pending-span markers: not spans, not errors

    def reject(self, reason: str) -> None:
        self.rejected += 1
        if len(self.errors) < 5:
            self.errors.append(reason)


# -- protobuf ---------------------------------------------------------------------------------
def from_protobuf(body: bytes) -> Decoded:
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise BadRequest(f"The body is not a valid OTLP ExportTraceServiceRequest: {exc}") from exc
    out = Decoded()
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            for pb in scope_spans.spans:
                try:
                    raw = _raw_from_protobuf(pb)
                except ValueError as exc:
                    out.reject(str(exc))
                    continue
                _add(out, raw)
    return out


def _raw_from_protobuf(pb: Any) -> RawSpan:
    trace_id = pb.trace_id
    span_id = pb.span_id
    if len(trace_id) != 16 or not any(trace_id):
        raise ValueError(f"span {pb.name!r}: trace_id must be 16 bytes, not all zero")
    if len(span_id) != 8 or not any(span_id):
        raise ValueError(f"span {pb.name!r}: span_id must be 8 bytes, not all zero")
    parent = pb.parent_span_id
    if parent and len(parent) != 8:
        raise ValueError(f"span {pb.name!r}: parent_span_id must be 8 bytes")
    status = pb.status
    return RawSpan(
        trace_hex=trace_id.hex(),
        span_hex=span_id.hex(),
        parent_hex=parent.hex() if parent and any(parent) else None,
        name=pb.name,
        start_ns=pb.start_time_unix_nano,
        end_ns=pb.end_time_unix_nano or None,
        status_code=_STATUS.get(status.code, SpanStatusCode.UNSET),
        status_message=status.message,
        attributes={kv.key: _any_value(kv.value) for kv in pb.attributes},
        events=[
            (e.name, e.time_unix_nano, {kv.key: _any_value(kv.value) for kv in e.attributes})
            for e in pb.events
        ],
        links=[
            Link("tr-" + link.trace_id.hex(), link.span_id.hex(),
                 {kv.key: _any_value(kv.value) for kv in link.attributes})
            for link in pb.links
        ],
    )


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


# -- JSON -------------------------------------------------------------------------------------
def from_json(body: bytes) -> Decoded:
    import json

    try:
        request = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}") from exc
    if not isinstance(request, dict):
        raise BadRequest("An OTLP/JSON body is an object with a resourceSpans list.")
    resource_spans = _field(request, "resourceSpans", "resource_spans")
    if resource_spans is None:
        resource_spans = []
    if not isinstance(resource_spans, list):
        raise BadRequest("resourceSpans must be a list.")
    out = Decoded()
    for item in resource_spans:
        if not isinstance(item, dict):
            raise BadRequest("Each resourceSpans entry must be an object.")
        scopes = _field(item, "scopeSpans", "scope_spans") or []
        if not isinstance(scopes, list):
            raise BadRequest("scopeSpans must be a list.")
        for scope in scopes:
            found = scope.get("spans") if isinstance(scope, dict) else None
            if not isinstance(found, list):
                raise BadRequest("Each scopeSpans entry must be an object with a spans list.")
            for data in found:
                try:
                    raw = _raw_from_json(data)
                except (ValueError, TypeError, AttributeError) as exc:
                    out.reject(str(exc))
                    continue
                _add(out, raw)
    return out


def _field(data: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = data.get(camel)
    return data.get(snake) if value is None else value


def _json_id(value: Any, size: int, what: str, name: str) -> str | None:
    """Hex id from OTLP/JSON (hex, per the spec; base64 accepted as MLflow writes it)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"span {name!r}: {what} must be a string")
    if len(value) == size * 2 and _HEX.issuperset(value):
        return value.lower()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != size:
        raise ValueError(f"span {name!r}: {what} must be {size * 2} hex digits")
    return raw.hex()


def _raw_from_json(data: Any) -> RawSpan:
    if not isinstance(data, dict):
        raise ValueError("a span must be an object")
    name = data.get("name")
    if not isinstance(name, str):
        raise ValueError("a span needs a name (string)")
    trace_hex = _json_id(_field(data, "traceId", "trace_id"), 16, "traceId", name)
    span_hex = _json_id(_field(data, "spanId", "span_id"), 8, "spanId", name)
    if not trace_hex or set(trace_hex) == {"0"}:
        raise ValueError(f"span {name!r}: traceId is required (32 hex digits, not all zero)")
    if not span_hex or set(span_hex) == {"0"}:
        raise ValueError(f"span {name!r}: spanId is required (16 hex digits, not all zero)")
    parent = _json_id(_field(data, "parentSpanId", "parent_span_id"), 8, "parentSpanId", name)
    status = data.get("status") or {}
    code = status.get("code", 0) if isinstance(status, dict) else 0
    status_code = _STATUS_NAMES.get(code) if isinstance(code, str) else _STATUS.get(code)
    end = _field(data, "endTimeUnixNano", "end_time_unix_nano")
    return RawSpan(
        trace_hex=trace_hex,
        span_hex=span_hex,
        parent_hex=parent if parent and set(parent) != {"0"} else None,
        name=name,
        start_ns=int(_field(data, "startTimeUnixNano", "start_time_unix_nano") or 0),
        end_ns=int(end) if end else None,
        status_code=status_code or SpanStatusCode.UNSET,
        status_message=str(status.get("message") or "") if isinstance(status, dict) else "",
        attributes=_json_attributes(data.get("attributes")),
        events=[
            (str(e.get("name", "")), int(_field(e, "timeUnixNano", "time_unix_nano") or 0),
             _json_attributes(e.get("attributes")))
            for e in data.get("events") or []
            if isinstance(e, dict)
        ],
        links=[
            Link.from_dict({"trace_id": str(_field(link, "traceId", "trace_id")).lower(),
                            "span_id": str(_field(link, "spanId", "span_id")).lower(),
                            "attributes": _json_attributes(link.get("attributes"))})
            for link in data.get("links") or []
            if isinstance(link, dict) and _field(link, "traceId", "trace_id")
            and _field(link, "spanId", "span_id")
        ],
    )


def _json_attributes(items: Any) -> dict[str, Any]:
    if not items:
        return {}
    if isinstance(items, dict):  # MLflow's traces.json style: {key: JSON text}
        return dict(items)
    if not isinstance(items, list):
        raise ValueError("attributes must be a list of {key, value}")
    return {
        str(kv["key"]): _json_any_value(kv.get("value"))
        for kv in items
        if isinstance(kv, dict) and "key" in kv
    }


def _json_any_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    if "stringValue" in value or "string_value" in value:
        return _field(value, "stringValue", "string_value")
    if "intValue" in value or "int_value" in value:
        return int(_field(value, "intValue", "int_value"))  # int64 arrives as a string
    if "doubleValue" in value or "double_value" in value:
        return float(_field(value, "doubleValue", "double_value"))
    if "boolValue" in value or "bool_value" in value:
        return bool(_field(value, "boolValue", "bool_value"))
    if "kvlistValue" in value or "kvlist_value" in value:
        listed = _field(value, "kvlistValue", "kvlist_value") or {}
        return _json_attributes(listed.get("values") or [])
    if "arrayValue" in value or "array_value" in value:
        listed = _field(value, "arrayValue", "array_value") or {}
        return [_json_any_value(v) for v in listed.get("values") or []]
    if "bytesValue" in value or "bytes_value" in value:
        return _field(value, "bytesValue", "bytes_value")
    return None


# -- raw spans to lanterna spans --------------------------------------------------------------
@dataclass
class RawSpan:
    trace_hex: str
    span_hex: str
    parent_hex: str | None
    name: str
    start_ns: int
    end_ns: int | None
    status_code: SpanStatusCode
    status_message: str
    attributes: dict[str, Any]
    events: list[tuple[str, int, dict[str, Any]]]
    links: list[Link] = field(default_factory=list)


def _add(out: Decoded, raw: RawSpan) -> None:
    span = to_span(raw)
    if span is None:
        out.skipped += 1
    else:
        out.spans.append(span)


def _mlflow_values(attributes: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """MLflow's own keys arrive as JSON text (traces.json, older clients) or native values
    (its OTLP exporter); both decode to the same value."""
    for key, value in attributes.items():
        if type(value) is str and key.startswith("mlflow.") and value[:1] in _JSON_STARTS:
            yield key, decode_attribute(value)
        else:
            yield key, value


def to_span(raw: RawSpan) -> Span | None:
    """The lanterna span for ``raw``; None for a Logfire pending-span marker."""
    attributes = dict(_mlflow_values(raw.attributes))
    trace_id = attributes.get(SpanAttributeKey.REQUEST_ID)
    if not isinstance(trace_id, str) or not trace_id:
        trace_id = "tr-" + raw.trace_hex
    given_type = attributes.get(SpanAttributeKey.SPAN_TYPE)
    normalized = normalize_attributes(
        attributes, raw.name, [(name, attrs) for name, _, attrs in raw.events],
        span_type=given_type if isinstance(given_type, str) else None,
    )
    if normalized.pending:
        return None
    span = Span.__new__(Span)
    span._trace_id = trace_id
    span._span_id = raw.span_hex
    span._parent_id = raw.parent_hex
    span._name = normalized.name
    span._span_type = normalized.span_type or SpanType.UNKNOWN
    span._start_ns = raw.start_ns
    span._end_ns = raw.end_ns
    span._status = SpanStatus(raw.status_code, raw.status_message)
    span._inputs = None if normalized.inputs is MISSING else normalized.inputs
    span._outputs = None if normalized.outputs is MISSING else normalized.outputs
    span._attributes = normalized.attributes
    span._events = [SpanEvent(name, ts, attrs) for name, ts, attrs in raw.events] or ()
    span._links = raw.links or ()
    return span
