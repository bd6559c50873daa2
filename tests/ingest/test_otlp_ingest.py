"""OTLP/HTTP ingest (issue 12, acceptance 2): the real OpenTelemetry SDK exporter (protobuf)
and hand-made OTLP/JSON bodies carrying OpenInference, GenAI and OpenLLMetry attributes; a
trace sent in pieces by two processes is assembled whole."""

from __future__ import annotations

import gzip
import json
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx

from lanterna.entities.trace import Trace

SDK_SCRIPT = r'''
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

endpoint, experiment = sys.argv[1], sys.argv[2]
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
    endpoint=endpoint + "/v1/traces", headers={"x-mlflow-experiment-id": experiment})))
tracer = provider.get_tracer("acceptance")
messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Hi there"}]}])
output = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Hello!"}],
                      "finish_reason": "stop"}])
with tracer.start_as_current_span("agent run", attributes={
        "openinference.span.kind": "AGENT", "input.value": "plan a trip",
        "output.value": "done", "session.id": "sess-42", "user.id": "ana"}) as root:
    with tracer.start_as_current_span("retrieve", attributes={
            "openinference.span.kind": "RETRIEVER", "input.value": "trips",
            "retrieval.documents.0.document.id": "d1",
            "retrieval.documents.0.document.content": "Lisbon in May",
            "retrieval.documents.0.document.score": 0.75}):
        pass
    with tracer.start_as_current_span("chat gpt-4o", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.provider.name": "openai", "gen_ai.input.messages": messages,
            "gen_ai.output.messages": output, "gen_ai.usage.input_tokens": 11,
            "gen_ai.usage.output_tokens": 7}):
        pass
    with tracer.start_as_current_span("openai.chat", attributes={
            "llm.request.type": "chat", "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-3.5-turbo",
            "gen_ai.prompt.0.role": "user", "gen_ai.prompt.0.content": "joke?",
            "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": "no",
            "gen_ai.usage.prompt_tokens": 2, "gen_ai.usage.completion_tokens": 1}):
        pass
    print(format(root.get_span_context().trace_id, "032x"))
provider.shutdown()
'''


def stored(server: Any, trace_id: str) -> Trace:
    trace = server.store.get_trace(trace_id)
    assert trace is not None, f"{trace_id} is not stored"
    return trace  # type: ignore[no-any-return]


def by_name(trace: Trace) -> dict[str, Any]:
    return {span.name: span for span in trace.data.spans}


def test_opentelemetry_sdk_protobuf_exporter(server: Any, tmp_path: Path) -> None:
    experiment = server.store.get_or_create_experiment("otel-sdk").experiment_id
    script = tmp_path / "sdk.py"
    script.write_text(SDK_SCRIPT)
    result = run_python_args(script, tmp_path, server.url, experiment)
    trace_id = "tr-" + result.strip()
    trace = stored(server, trace_id)
    spans = by_name(trace)
    assert set(spans) == {"agent run", "retrieve", "chat gpt-4o", "openai.chat"}
    root, retriever = spans["agent run"], spans["retrieve"]
    chat, legacy = spans["chat gpt-4o"], spans["openai.chat"]
    assert (root.span_type, root.inputs, root.outputs) == ("AGENT", "plan a trip", "done")
    assert retriever.span_type == "RETRIEVER"
    assert retriever.outputs == [{"page_content": "Lisbon in May", "metadata": {"score": 0.75},
                                  "id": "d1"}]
    assert chat.span_type == "CHAT_MODEL"
    assert chat.inputs == {"messages": [{"role": "user", "content": "Hi there"}]}
    assert chat.outputs["choices"][0]["message"] == {"role": "assistant", "content": "Hello!"}
    assert chat.get_attribute("mlflow.chat.tokenUsage") == {
        "input_tokens": 11, "output_tokens": 7, "total_tokens": 18}
    assert chat.get_attribute("mlflow.llm.model") == "gpt-4o"
    assert chat.get_attribute("gen_ai.request.model") == "gpt-4o"  # raw attributes kept
    assert legacy.span_type == "CHAT_MODEL"
    assert legacy.inputs == {"messages": [{"role": "user", "content": "joke?"}]}
    assert legacy.outputs["choices"][0]["message"]["content"] == "no"
    assert legacy.get_attribute("mlflow.llm.model") == "gpt-3.5-turbo"
    info = trace.info
    assert info.experiment_id == experiment
    assert info.name == "agent run"
    assert info.state.value == "OK"
    assert (info.request_preview, info.response_preview) == ('"plan a trip"', "done")
    assert info.token_usage == {"input_tokens": 13, "output_tokens": 8, "total_tokens": 21}
    assert (info.session_id, info.user_id) == ("sess-42", "ana")
    found, _ = server.store.search_traces([experiment], filter_string="span.type = 'RETRIEVER'")
    assert [t.info.trace_id for t in found] == [trace_id]


def run_python_args(script: Path, cwd: Path, *args: str) -> str:
    import os
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(script), *args], cwd=cwd, capture_output=True,
                            text=True, timeout=120, env={**os.environ}, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


PIECE_SCRIPT = r'''
import sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

endpoint, trace_hex, root_hex, part = sys.argv[1:5]


class Root(RandomIdGenerator):
    """The root part reuses the ids the test chose, as another service's tracer would."""
    first = True

    def generate_trace_id(self):
        return int(trace_hex, 16)

    def generate_span_id(self):
        if self.first:
            self.first = False
            return int(root_hex, 16)
        return super().generate_span_id()


provider = TracerProvider(id_generator=Root() if part == "root" else RandomIdGenerator())
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(
    endpoint=endpoint + "/v1/traces")))
tracer = provider.get_tracer("pieces")
if part == "root":
    with tracer.start_as_current_span("frontend request", attributes={
            "traceloop.span.kind": "workflow",
            "traceloop.entity.input": '{"args": [], "kwargs": {"city": "Porto"}}',
            "traceloop.entity.output": '"sunny"'}):
        with tracer.start_as_current_span("frontend step"):
            pass
else:
    remote = SpanContext(int(trace_hex, 16), int(root_hex, 16), is_remote=True,
                         trace_flags=TraceFlags(TraceFlags.SAMPLED))
    context = trace.set_span_in_context(NonRecordingSpan(remote))
    with tracer.start_as_current_span("backend call", context=context, attributes={
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.call.arguments": '{"x": 1}',
            "gen_ai.tool.call.result": "42"}):
        with tracer.start_as_current_span("backend db", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 4,
                "gen_ai.usage.output_tokens": 2}):
            pass
provider.shutdown()
'''


def test_trace_in_pieces_from_two_processes(server: Any, tmp_path: Path) -> None:
    trace_hex, root_hex = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    script = tmp_path / "piece.py"
    script.write_text(PIECE_SCRIPT)
    run_python_args(script, tmp_path, server.url, trace_hex, root_hex, "child")  # first
    partial = stored(server, "tr-" + trace_hex)
    assert partial.info.state.value == "IN_PROGRESS"
    run_python_args(script, tmp_path, server.url, trace_hex, root_hex, "root")
    trace = stored(server, "tr-" + trace_hex)
    spans = by_name(trace)
    assert set(spans) == {"frontend request", "frontend step", "backend call", "backend db"}
    assert spans["backend call"].parent_id == root_hex
    assert spans["frontend request"].parent_id is None
    assert spans["frontend request"].span_type == "WORKFLOW"
    assert spans["frontend request"].inputs == {"city": "Porto"}
    assert (spans["backend call"].span_type, spans["backend call"].outputs) == ("TOOL", "42")
    info = trace.info
    assert (info.name, info.state.value) == ("frontend request", "OK")
    assert info.request_preview == '{"city": "Porto"}'
    assert info.token_usage == {"input_tokens": 4, "output_tokens": 2, "total_tokens": 6}


def otlp_json(trace_hex: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "hand"}}]},
        "scopeSpans": [{"scope": {"name": "hand-made"}, "spans": spans}],
    }]}


def json_span(trace_hex: str, span_hex: str, parent: str, name: str,
              attributes: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "traceId": trace_hex, "spanId": span_hex, "parentSpanId": parent, "name": name,
        "kind": 1, "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001500000000",
        "attributes": [{"key": k, "value": v} for k, v in attributes.items()],
        "status": {"code": 1}, **extra,
    }


def test_hand_made_otlp_json_gzip_and_deflate(server: Any) -> None:
    trace_hex = uuid.uuid4().hex
    root, llm, tool = (uuid.uuid4().hex[:16] for _ in range(3))
    spans = [
        json_span(trace_hex, root, "", "chain", {
            "openinference.span.kind": {"stringValue": "CHAIN"},
            "input.value": {"stringValue": '{"question": "capital of France?"}'},
            "input.mime_type": {"stringValue": "application/json"},
            "output.value": {"stringValue": "Paris"},
            "metadata.tags": {"arrayValue": {"values": [{"stringValue": "a"},
                                                        {"intValue": "2"}]}},
        }),
        json_span(trace_hex, llm, root, "llm", {
            "openinference.span.kind": {"stringValue": "LLM"},
            "llm.model_name": {"stringValue": "claude"},
            "llm.input_messages.0.message.role": {"stringValue": "user"},
            "llm.input_messages.0.message.content": {"stringValue": "capital of France?"},
            "llm.output_messages.0.message.role": {"stringValue": "assistant"},
            "llm.output_messages.0.message.content": {"stringValue": "Paris"},
            "llm.token_count.prompt": {"intValue": "9"},
            "llm.token_count.completion": {"intValue": 1},
            "llm.invocation_parameters": {"kvlistValue": {"values": [
                {"key": "temperature", "value": {"doubleValue": 0.5}}]}},
        }, events=[{"name": "first token", "timeUnixNano": "1700000000500000000",
                    "attributes": [{"key": "n", "value": {"intValue": "1"}}]}]),
    ]
    body = json.dumps(otlp_json(trace_hex, spans)).encode()
    response = httpx.post(server.url + "/v1/traces", content=gzip.compress(body),
                          headers={"Content-Type": "application/json",
                                   "Content-Encoding": "gzip",
                                   "x-lanterna-experiment-id": "0"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    tool_span = json_span(trace_hex, tool, llm, "tool", {
        "gen_ai.operation.name": {"stringValue": "execute_tool"},
        "gen_ai.tool.call.arguments": {"stringValue": '{"city": "Paris"}'}})
    body = json.dumps(otlp_json(trace_hex, [tool_span])).encode()
    response = httpx.post(server.url + "/v1/traces", content=zlib.compress(body),
                          headers={"Content-Type": "application/json",
                                   "Content-Encoding": "deflate"})
    assert response.status_code == 200, response.text
    trace = stored(server, "tr-" + trace_hex)
    spans_by_name = by_name(trace)
    chain, model = spans_by_name["chain"], spans_by_name["llm"]
    assert (chain.span_type, chain.inputs, chain.outputs) == (
        "CHAIN", {"question": "capital of France?"}, "Paris")
    assert chain.get_attribute("metadata.tags") == ["a", 2]
    assert model.span_type == "LLM"
    assert model.inputs == {"messages": [{"role": "user", "content": "capital of France?"}]}
    assert model.get_attribute("llm.invocation_parameters") == {"temperature": 0.5}
    assert model.get_attribute("mlflow.chat.tokenUsage") == {
        "input_tokens": 9, "output_tokens": 1, "total_tokens": 10}
    assert model.get_attribute("mlflow.llm.model") == "claude"
    assert [(e.name, e.attributes) for e in model.events] == [("first token", {"n": 1})]
    assert spans_by_name["tool"].span_type == "TOOL"
    assert spans_by_name["tool"].inputs == {"city": "Paris"}
    assert trace.info.execution_duration == 1500
    assert trace.info.response_preview == "Paris"


def test_bad_spans_are_refused_one_by_one(server: Any) -> None:
    trace_hex = uuid.uuid4().hex
    good = json_span(trace_hex, uuid.uuid4().hex[:16], "", "good", {})
    bad_id = json_span(trace_hex, "xyz", "", "bad id", {})
    no_name = {k: v for k, v in json_span(trace_hex, uuid.uuid4().hex[:16], "", "x",
                                          {}).items() if k != "name"}
    body = json.dumps(otlp_json(trace_hex, [good, bad_id, no_name]))
    response = httpx.post(server.url + "/v1/traces", content=body,
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "bad id" in partial["errorMessage"] and "name" in partial["errorMessage"]
    assert [s.name for s in stored(server, "tr-" + trace_hex).data.spans] == ["good"]


def test_protobuf_partial_success(server: Any) -> None:
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    request = ExportTraceServiceRequest()
    spans = request.resource_spans.add().scope_spans.add().spans
    trace_id = uuid.uuid4().bytes
    good = spans.add(trace_id=trace_id, span_id=uuid.uuid4().bytes[:8], name="kept",
                     start_time_unix_nano=1, end_time_unix_nano=2)
    good.attributes.add(key="mlflow.spanInputs").value.kvlist_value.values.add(
        key="q").value.string_value = "native"
    spans.add(trace_id=trace_id, span_id=b"\x01\x02", name="short id")
    response = httpx.post(server.url + "/v1/traces", content=request.SerializeToString(),
                          headers={"Content-Type": "application/x-protobuf"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "span_id" in answer.partial_success.error_message
    trace = stored(server, "tr-" + trace_id.hex())
    assert [(s.name, s.inputs) for s in trace.data.spans] == [("kept", {"q": "native"})]


def test_metrics_count_what_came_in(server: Any) -> None:
    text = httpx.get(server.url + "/metrics").text

    def value(sample: str) -> float:
        for line in text.splitlines():
            if line.startswith(sample + " "):
                return float(line.split()[-1])
        return 0.0

    assert value('lanterna_spans_received_total{source="otlp"}') >= 10
    assert value('lanterna_spans_written_total{source="otlp"}') >= 9
    assert value('lanterna_spans_rejected_total{reason="invalid"}') >= 3


def test_logfire_pending_markers_are_not_spans(server: Any) -> None:
    trace_hex = uuid.uuid4().hex
    real, marker = uuid.uuid4().hex[:16], uuid.uuid4().hex[:16]
    spans = [
        json_span(trace_hex, marker, "", "handling {path}", {
            "logfire.span_type": {"stringValue": "pending_span"},
            "logfire.pending_parent_id": {"stringValue": "0000000000000000"},
            "logfire.msg": {"stringValue": "handling /items"}}),
        json_span(trace_hex, real, "", "handling {path}", {
            "logfire.span_type": {"stringValue": "span"},
            "logfire.msg": {"stringValue": "handling /items"},
            "logfire.tags": {"arrayValue": {"values": [{"stringValue": "web"}]}}}),
    ]
    response = httpx.post(server.url + "/v1/traces", content=json.dumps(otlp_json(trace_hex,
                                                                                 spans)),
                          headers={"Content-Type": "application/json"})
    assert response.status_code == 200 and response.json() == {}
    trace = stored(server, "tr-" + trace_hex)
    assert [(s.span_id, s.name) for s in trace.data.spans] == [(real, "handling /items")]
    assert trace.data.spans[0].get_attribute("logfire.tags") == ["web"]


def test_ingested_spans_are_indexed_for_full_text_in_the_background(server: Any) -> None:
    """The server's upkeep indexes what it ingests (off the write path): soon nothing waits,
    and the words are found before and after."""
    from sqlalchemy import text

    trace_hex = uuid.uuid4().hex
    word = f"wombat{uuid.uuid4().hex[:8]}"
    spans = [json_span(trace_hex, uuid.uuid4().hex[:16], "", "root",
                       {"input.value": {"stringValue": f"{word} in the garden"}})]
    response = httpx.post(server.url + "/v1/traces", content=json.dumps(otlp_json(
        trace_hex, spans)), headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    query = f"trace.text LIKE '%{word}%'"
    assert [t.info.trace_id for t in server.store.search_traces(
        filter_string=query, include_spans=False)[0]] == ["tr-" + trace_hex]
    if server.store.dialect == "postgresql":
        waiting = "SELECT count(*) FROM span_texts_pending"
    else:
        waiting = "SELECT count(*) FROM spans WHERE seq > (SELECT indexed_upto FROM " \
                  "lanterna_fts_state)"
    deadline = time.monotonic() + 20
    while True:
        with server.store.engine().connect() as connection:
            left = connection.execute(text(waiting)).scalar_one()
        if left == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert left == 0
    assert [t.info.trace_id for t in server.store.search_traces(
        filter_string=query, include_spans=False)[0]] == ["tr-" + trace_hex]
