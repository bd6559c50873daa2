"""Spans, statuses and events to and from OpenTelemetry's OTLP protobuf (issue 10, entities)."""

from __future__ import annotations

import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1 import trace_pb2

import lanterna
from lanterna.entities import Span, SpanEvent, SpanStatus, SpanStatusCode, SpanType, Trace
from lanterna.entities._otlp import decode_spans, encode_spans, span_from_otlp, span_to_otlp
from lanterna.testing.pytest_plugin import TracesRecorded


@pytest.fixture
def trace(traces: TracesRecorded) -> Trace:
    with lanterna.start_span("agent", span_type=SpanType.AGENT) as root:
        root.set_inputs({"question": "ça va?", "n": [1, {"deep": True}], "empty": []})
        with lanterna.start_span("llm", span_type=SpanType.LLM) as llm:
            llm.set_attribute("model", "gpt-4o")
            llm.set_attribute("temperature", 0.5)
            llm.set_attribute("digits", "123")
            llm.add_event(SpanEvent("chunk", attributes={"i": 1, "parts": ["a", "b"]}))
            llm.record_exception(ValueError("rate limited"))
        root.set_outputs("fine")
    return traces.last()


def test_span_round_trips_through_otlp(trace: Trace) -> None:
    for span in trace.data.spans:
        message = span.to_otel_proto()
        assert isinstance(message, trace_pb2.Span)
        again = Span.from_otel_proto(message)
        assert again == span
        assert again.to_dict() == span.to_dict()
        # Through bytes too, as a server receives it.
        parsed = trace_pb2.Span.FromString(message.SerializeToString())
        assert span_from_otlp(parsed) == span


def test_otlp_message_has_ids_as_bytes_times_status_and_native_values(trace: Trace) -> None:
    root, llm = trace.data.spans
    message = span_to_otlp(llm)
    assert message.trace_id == bytes.fromhex(trace.trace_id.removeprefix("tr-"))
    assert message.span_id == bytes.fromhex(llm.span_id)
    assert message.parent_span_id == bytes.fromhex(root.span_id)
    assert message.start_time_unix_nano == llm.start_time_ns
    assert message.end_time_unix_nano == llm.end_time_ns
    assert message.status.code == trace_pb2.Status.STATUS_CODE_ERROR
    assert message.status.message == "ValueError: rate limited"
    values = {kv.key: kv.value for kv in message.attributes}
    # As MLflow 3 sends them: native AnyValues, so any OTLP backend reads real values.
    assert values["mlflow.spanType"].string_value == "LLM"
    assert values["mlflow.traceRequestId"].string_value == trace.trace_id
    assert values["temperature"].double_value == 0.5
    assert values["digits"].string_value == "123"
    assert [e.name for e in message.events] == ["chunk", "exception"]
    assert not span_to_otlp(root).parent_span_id
    root_values = {kv.key: kv.value for kv in span_to_otlp(root).attributes}
    inputs = root_values["mlflow.spanInputs"].kvlist_value
    assert [kv.key for kv in inputs.values] == ["question", "n", "empty"]
    assert inputs.values[2].value.HasField("array_value")  # [] stays a list


def test_string_attributes_stay_strings_and_json_text_form_is_read() -> None:
    message = trace_pb2.Span(
        trace_id=bytes(range(16)), span_id=bytes(range(8)), name="foreign",
        start_time_unix_nano=10, end_time_unix_nano=20,
        attributes=[
            KeyValue(key="mlflow.spanType", value=AnyValue(string_value='"TOOL"')),
            KeyValue(key="mlflow.spanInputs", value=AnyValue(string_value='{"x": 1}')),
            KeyValue(key="input.value", value=AnyValue(string_value='{"x": 1}')),
            KeyValue(key="count", value=AnyValue(int_value=3)),
            KeyValue(key="flag", value=AnyValue(bool_value=True)),
        ],
    )
    span = span_from_otlp(message)
    assert span.trace_id == "tr-000102030405060708090a0b0c0d0e0f"
    assert span.span_type == "TOOL"
    assert span.inputs == {"x": 1}
    assert span.get_attribute("input.value") == '{"x": 1}'  # foreign strings are not parsed
    assert span.get_attribute("count") == 3
    assert span.get_attribute("flag") is True
    assert span.parent_id is None
    assert span.status.status_code is SpanStatusCode.UNSET
    assert span_from_otlp(message, trace_id="tr-given").trace_id == "tr-given"


def test_open_span_and_deep_values(traces: TracesRecorded) -> None:
    deep: object = "leaf"
    for _ in range(40):
        deep = {"d": deep}
    with lanterna.start_span("deep") as span:
        span.set_inputs(deep)
    stored = traces.last().data.spans[0]
    payload = encode_spans([stored])
    assert decode_spans(payload)[0].inputs == deep  # too deep for native: sent as JSON text
    open_span = trace_pb2.Span(trace_id=bytes(16), span_id=b"\1" * 8, name="open",
                               start_time_unix_nano=5)
    assert span_from_otlp(open_span).end_time_ns is None


def test_encode_spans_is_an_export_request(trace: Trace) -> None:
    payload = encode_spans(trace.data.spans, {"service.name": "checkout"})
    request = ExportTraceServiceRequest.FromString(payload)
    (resource_spans,) = request.resource_spans
    assert [(kv.key, kv.value.string_value) for kv in resource_spans.resource.attributes] == [
        ("service.name", "checkout")]
    assert resource_spans.scope_spans[0].scope.name == "lanterna"
    assert [s.name for s in resource_spans.scope_spans[0].spans] == ["agent", "llm"]
    assert decode_spans(payload) == trace.data.spans


def test_span_status_conversions() -> None:
    from opentelemetry.trace import Status, StatusCode

    error = SpanStatus(SpanStatusCode.ERROR, "boom")
    proto = error.to_otel_proto_status()
    assert proto.code == trace_pb2.Status.STATUS_CODE_ERROR and proto.message == "boom"
    assert SpanStatus.from_otel_proto_status(proto) == error
    assert SpanStatus.from_otel_proto_status(trace_pb2.Status()) == SpanStatus("UNSET")
    otel = error.to_otel_status()
    assert otel.status_code is StatusCode.ERROR and otel.description == "boom"
    assert SpanStatus.from_otel_status(otel) == error
    assert SpanStatus("OK").to_otel_status().status_code is StatusCode.OK
    assert SpanStatus.from_otel_status(Status(StatusCode.OK)) == SpanStatus("OK")


def test_span_event_to_otel_proto() -> None:
    event = SpanEvent("retry", 123, {"attempt": 2, "why": "429", "ok": False, "w": 0.5,
                                     "tags": ["a", "b"], "detail": {"k": "v"}})
    proto = event.to_otel_proto()
    assert isinstance(proto, trace_pb2.Span.Event)
    assert proto.name == "retry" and proto.time_unix_nano == 123
    values = {kv.key: kv.value for kv in proto.attributes}
    assert values["attempt"].int_value == 2 and values["ok"].HasField("bool_value")
    assert SpanEvent.from_otel_proto(proto) == event


def test_span_from_dict_rejects_an_empty_trace_id(trace: Trace) -> None:
    data = trace.data.spans[0].to_dict()
    data["attributes"].pop("mlflow.traceRequestId")
    data["trace_id"] = ""
    with pytest.raises(lanterna.exceptions.MlflowException,
                       match="^Failed to create a Span object from the given dictionary"):
        Span.from_dict(data)
    data["attributes"]["mlflow.traceRequestId"] = json.dumps("")
    with pytest.raises(lanterna.exceptions.MlflowException, match="empty or missing"):
        Span.from_dict(data)
