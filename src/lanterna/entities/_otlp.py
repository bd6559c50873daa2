"""Spans to and from OpenTelemetry's OTLP protobuf messages.

The one place lanterna touches ``opentelemetry.proto``; it is imported inside the functions, so
``import lanterna`` never loads protobuf. Needs the ``otel`` extra (``opentelemetry-proto``).

Attribute values travel as MLflow 3 sends them: native ``AnyValue`` kinds (strings, numbers,
arrays, key-value lists), so an MLflow server or any OTLP backend reads them as the values they
are. A value nested too deeply for protobuf's parsers travels as its JSON text instead. Reading
also accepts the older form where every ``mlflow.*`` attribute is an ``AnyValue`` holding JSON
text (``"\"CHAIN\""`` for a span type).
"""

from __future__ import annotations

from lanterna.entities._values import encode_attribute
from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1 import trace_pb2

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# OTLP's Status.StatusCode numbers.
_CODE_TO_PROTO = {SpanStatusCode.UNSET: 0, SpanStatusCode.OK: 1, SpanStatusCode.ERROR: 2}
_PROTO_TO_CODE = {number: code for code, number in _CODE_TO_PROTO.items()}

SCOPE_NAME = "lanterna"


def _require_proto() -> None:
    try:
        import opentelemetry.proto.trace.v1.trace_pb2  # noqa: F401
    except ImportError as exc:  # the optional extra is missing
        raise MlflowException(
            "OTLP protobuf conversion needs the opentelemetry-proto package; "
            "install it with: pip install 'lanterna[otel]'."
        ) from exc


def span_to_otlp(
    span: Span, *, json_attributes: bool = False, into: trace_pb2.Span | None = None
) -> trace_pb2.Span:
    """The span as an OTLP ``Span`` message (ids as raw bytes, times in ns).

    ``json_attributes`` sends every attribute as the JSON text of its value (MLflow's own wire
    form, and much cheaper to encode than nested native values: the SDK's OTLP exporter uses
    it). ``into`` fills a message already placed in a request (saves protobuf a copy)."""
    _require_proto()
    from opentelemetry.proto.trace.v1 import trace_pb2

    message = trace_pb2.Span() if into is None else into
    message.trace_id = trace_id_bytes(span.trace_id)
    message.span_id = _id_bytes(span.span_id, 8)
    message.name = span.name
    message.kind = trace_pb2.Span.SpanKind.SPAN_KIND_INTERNAL
    message.start_time_unix_nano = span.start_time_ns
    message.end_time_unix_nano = span.end_time_ns or 0
    status = span.status
    message.status.code = _CODE_TO_PROTO[status.status_code]  # type: ignore[assignment]
    if status.description:
        message.status.message = status.description
    if span.parent_id:
        message.parent_span_id = _id_bytes(span.parent_id, 8)
    if json_attributes:
        add = message.attributes.add
        for key, text in span._encoded_attributes().items():
            add(key=key).value.string_value = text
    else:
        for key, value in span.attributes.items():
            _fill_any_value(message.attributes.add(key=key).value, value)
    for event in span.events:
        message.events.append(event_to_otlp(event))
    for link in span.links:
        message.links.append(link_to_otlp(link))
    return message


def span_from_otlp(pb_span: trace_pb2.Span, *, trace_id: str | None = None) -> Span:
    """A finished ``Span`` from an OTLP message.

    Its trace id is ``trace_id`` when given, else ``"tr-"`` + the 32 hex digits of the OTLP
    trace id (as an MLflow server does on ingest; the ``mlflow.traceRequestId`` attribute is
    set to match).
    """
    attributes: dict[str, Any] = {}
    for item in pb_span.attributes:
        value = any_value_to_python(item.value)
        if not (isinstance(value, str) and item.key.startswith("mlflow.") and _is_json(value)):
            value = encode_attribute(value)
        attributes[item.key] = value  # JSON text, as Span.from_dict expects
    if trace_id is None:
        trace_id = "tr-" + bytes(pb_span.trace_id).hex()
    attributes[SpanAttributeKey.REQUEST_ID] = encode_attribute(trace_id)
    parent = bytes(pb_span.parent_span_id).hex()
    return Span.from_dict({
        "span_id": bytes(pb_span.span_id).hex(),
        "parent_span_id": parent or None,
        "name": pb_span.name,
        "start_time_unix_nano": pb_span.start_time_unix_nano,
        "end_time_unix_nano": pb_span.end_time_unix_nano or None,
        "status": status_from_otlp(pb_span.status).to_dict(),
        "attributes": attributes,
        "events": [event_from_otlp(e).to_dict() for e in pb_span.events],
        "links": [link_from_otlp(link).to_dict() for link in pb_span.links],
    })


def _is_json(text: str) -> bool:
    """Whether a string attribute is JSON text of a string, object or array (the older form)."""
    if not text or text[0] not in '"{[':
        return False
    import json

    try:
        json.loads(text)
    except (ValueError, RecursionError):
        return False
    return True


def encode_spans(
    spans: Sequence[Span], resource_attributes: Mapping[str, str] | None = None
) -> bytes:
    """A serialised OTLP ``ExportTraceServiceRequest`` carrying ``spans`` (one resource)."""
    _require_proto()
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    resource_spans = request.resource_spans.add()
    for key, value in (resource_attributes or {}).items():
        resource_spans.resource.attributes.add(key=str(key)).value.string_value = str(value)
    scope_spans = resource_spans.scope_spans.add()
    scope_spans.scope.name = SCOPE_NAME
    scope_spans.spans.extend(span_to_otlp(span) for span in spans)
    return bytes(request.SerializeToString())


def decode_spans(payload: bytes) -> list[Span]:
    """The spans of a serialised ``ExportTraceServiceRequest`` (the inverse of ``encode_spans``)."""
    _require_proto()
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(payload)
    except DecodeError as exc:
        raise MlflowException(f"Not a valid OTLP ExportTraceServiceRequest: {exc}") from exc
    return [
        span_from_otlp(span)
        for resource_spans in request.resource_spans
        for scope_spans in resource_spans.scope_spans
        for span in scope_spans.spans
    ]


# --- statuses and events -------------------------------------------------------------------


def status_to_otlp(status: SpanStatus) -> trace_pb2.Status:
    _require_proto()
    from opentelemetry.proto.trace.v1 import trace_pb2

    message = trace_pb2.Status(message=status.description)
    message.code = _CODE_TO_PROTO[status.status_code]  # type: ignore[assignment]
    return message


def status_from_otlp(pb_status: trace_pb2.Status) -> SpanStatus:
    code = _PROTO_TO_CODE.get(int(pb_status.code), SpanStatusCode.UNSET)
    return SpanStatus(code, pb_status.message)


def event_to_otlp(event: SpanEvent) -> trace_pb2.Span.Event:
    _require_proto()
    from opentelemetry.proto.trace.v1 import trace_pb2

    message = trace_pb2.Span.Event(name=event.name, time_unix_nano=int(event.timestamp))
    for key, value in event.attributes.items():
        _fill_any_value(message.attributes.add(key=str(key)).value, value)
    return message


def event_from_otlp(pb_event: trace_pb2.Span.Event) -> SpanEvent:
    attributes = {item.key: any_value_to_python(item.value) for item in pb_event.attributes}
    return SpanEvent(pb_event.name, int(pb_event.time_unix_nano), attributes)


def link_to_otlp(link: Link) -> trace_pb2.Span.Link:
    _require_proto()
    from opentelemetry.proto.trace.v1 import trace_pb2

    message = trace_pb2.Span.Link(trace_id=trace_id_bytes(link.trace_id),
                                  span_id=_id_bytes(link.span_id, 8))
    for key, value in link.attributes.items():
        _fill_any_value(message.attributes.add(key=str(key)).value, value)
    return message


def link_from_otlp(pb_link: trace_pb2.Span.Link) -> Link:
    attributes = {item.key: any_value_to_python(item.value) for item in pb_link.attributes}
    return Link("tr-" + bytes(pb_link.trace_id).hex(), bytes(pb_link.span_id).hex(), attributes)


# --- values and ids ------------------------------------------------------------------------

# Each level of nesting costs protobuf 2-3 message levels, and parsers stop at 100.
_MAX_NATIVE_DEPTH = 16


def _fill_any_value(target: AnyValue, value: Any) -> None:
    if _depth(value, 0) > _MAX_NATIVE_DEPTH:
        target.string_value = encode_attribute(value)
    else:
        _fill_native(target, value)


def _fill_native(target: AnyValue, value: Any) -> None:
    if value is None:
        return  # an empty AnyValue stands for null
    if isinstance(value, bool):
        target.bool_value = value
    elif isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        target.int_value = value
    elif isinstance(value, float):
        target.double_value = value
    elif isinstance(value, str):
        target.string_value = value
    elif isinstance(value, (list, tuple)):
        array = target.array_value
        array.SetInParent()  # an empty list is still a list
        for item in value:
            _fill_native(array.values.add(), item)
    elif isinstance(value, dict):
        kvlist = target.kvlist_value
        kvlist.SetInParent()
        for key, item in value.items():
            _fill_native(kvlist.values.add(key=str(key)).value, item)
    else:
        target.string_value = encode_attribute(value)


def _depth(value: Any, level: int) -> int:
    if level > _MAX_NATIVE_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, (list, tuple)):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


def any_value_to_python(value: AnyValue) -> Any:
    """The Python value of an ``AnyValue`` (arrays as lists, key-value lists as dicts)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value_to_python(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value_to_python(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        import base64

        return base64.b64encode(value.bytes_value).decode("ascii")
    return getattr(value, kind)


def key_values_to_dict(items: Sequence[KeyValue]) -> dict[str, Any]:
    return {item.key: any_value_to_python(item.value) for item in items}


def trace_id_bytes(trace_id: str) -> bytes:
    """The 16 raw bytes of a ``tr-<32 hex>`` trace id (other ids: their hex, padded)."""
    return _id_bytes(trace_id.removeprefix("tr-"), 16)


def _id_bytes(hex_id: str, size: int) -> bytes:
    """Hex ids as their bytes; any other id (foreign formats) as a stable digest of its text.

    The span's ``mlflow.traceRequestId`` attribute keeps the original trace id either way.
    """
    try:
        raw = bytes.fromhex(hex_id)
    except ValueError:
        raw = b""
    if not raw or len(raw) > size:
        import hashlib

        return hashlib.blake2b(hex_id.encode("utf-8", "replace"), digest_size=size).digest()
    return raw.rjust(size, b"\0")
