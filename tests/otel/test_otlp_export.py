"""OTLP/HTTP export from the SDK to a real loopback receiver (issue 14, acceptance 3): every
span arrives once with ids, parents, times, status, events and both attribute sets; a receiver
that is down, or asks to wait, loses nothing; refusals are counted."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opentelemetry.proto")

from conftest import run_python  # noqa: E402
from lanterna.entities import Link  # noqa: E402
from lanterna.entities._otlp import key_values_to_dict  # noqa: E402
from lanterna.export.otlp_exporter import (  # noqa: E402
    configured_endpoint,
    configured_headers,
    resource_attributes,
)
from otel.otlp_receiver import OtlpReceiver  # noqa: E402

APP = '''
import json, sys, time
import lanterna
from lanterna.entities import Link, SpanEvent
from lanterna.export import setup

@lanterna.trace(span_type="TOOL")
def lookup(city):
    return {"city": city, "temp": 21}

@lanterna.trace(span_type="AGENT")
def agent(question):
    with lanterna.start_span("llm", span_type="CHAT_MODEL") as llm:
        llm.set_inputs({"model": "gpt-4o-mini",
                        "messages": [{"role": "system", "content": "be brief"},
                                     {"role": "user", "content": question}]})
        llm.set_attributes({"mlflow.chat.tokenUsage": {"input_tokens": 7, "output_tokens": 3,
                                                       "total_tokens": 10},
                            "mlflow.llm.model": "gpt-4o-mini", "mlflow.llm.provider": "openai"})
        llm.add_event(SpanEvent("first_token", attributes={"ms": 12}))
        llm.set_outputs({"model": "gpt-4o-mini-2024", "choices": [{"index": 0,
            "finish_reason": "stop", "message": {"role": "assistant", "content": "sunny"}}]})
    lookup("Lisbon")
    with lanterna.start_span("retrieve", span_type="RETRIEVER",
                             links=[Link("tr-" + "ab" * 16, "cd" * 8, {"why": "batch"})]) as r:
        r.set_inputs({"query": "weather"})
        r.set_outputs([{"page_content": "it is sunny", "metadata": {"score": 0.9}, "id": "d1"}])
    try:
        with lanterna.start_span("fails"):
            raise ValueError("boom")
    except ValueError:
        pass
    lanterna.update_current_trace(tags={"team": "search"})
    return "sunny"


for i in range(int(sys.argv[1])):
    agent(f"weather {i}?")
deadline = time.monotonic() + 60
while not setup.flush(1.0) and time.monotonic() < deadline:
    pass
print(json.dumps(lanterna.tracing.export_stats()))
'''


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    running = OtlpReceiver().start()
    yield running
    running.stop()


def run_app(tmp_path: Path, receiver: OtlpReceiver, traces: int,
            env: dict[str, str] | None = None) -> dict[str, int]:
    app = tmp_path / "app.py"
    app.write_text(APP)
    result = run_python(f"import sys; sys.argv = ['app', '{traces}']; "
                        f"exec(open({str(app)!r}).read())", tmp_path, env={
        "LANTERNA_OTLP_ENDPOINT": receiver.url, "LANTERNA_EXPORT_TO": "store,otlp",
        "LANTERNA_TRACKING_URI": "memory://", "OTEL_SERVICE_NAME": "weather-app",
        "LANTERNA_OTLP_HEADERS": "x-api-key=s3cret,x-team=a%20b", **(env or {})})
    assert result.returncode == 0, result.stderr
    stats: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return stats


def attrs(span: object) -> dict[str, Any]:
    return key_values_to_dict(span.attributes)  # type: ignore[attr-defined]


def mlflow_value(value: Any) -> Any:
    """An MLflow attribute as sent: a native value, or its JSON text (MLflow's own form)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def test_every_span_arrives_once_with_both_attribute_sets(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    stats = run_app(tmp_path, receiver, traces=3)
    assert len(receiver.spans) == 15
    assert len(set(receiver.span_ids())) == 15
    assert stats["spans_exported"] == 15 and stats["otlp_spans_sent"] == 15
    assert stats["spans_dropped"] == 0 and stats["otlp_spans_rejected"] == 0
    assert receiver.headers[0]["x-api-key"] == "s3cret"
    assert receiver.headers[0]["x-team"] == "a b"
    assert receiver.headers[0]["content-type"] == "application/x-protobuf"

    resource, scope, _ = receiver.spans[0]
    assert resource["service.name"] == "weather-app" and scope == "lanterna"
    by_trace: dict[bytes, dict[str, object]] = {}
    for _, _, span in receiver.spans:
        by_trace.setdefault(bytes(span.trace_id), {})[span.name] = span
    assert len(by_trace) == 3
    spans = next(iter(by_trace.values()))
    agent, llm, tool = spans["agent"], spans["llm"], spans["lookup"]
    retrieve, fails = spans["retrieve"], spans["fails"]
    for child in (llm, tool, retrieve, fails):
        assert bytes(child.parent_span_id) == bytes(agent.span_id)  # type: ignore[attr-defined]
    assert bytes(agent.parent_span_id) == b""  # type: ignore[attr-defined]
    assert len(bytes(agent.trace_id)) == 16 and len(bytes(agent.span_id)) == 8  # type: ignore[attr-defined]
    assert 0 < agent.start_time_unix_nano <= llm.start_time_unix_nano  # type: ignore[attr-defined]
    assert llm.end_time_unix_nano <= agent.end_time_unix_nano  # type: ignore[attr-defined]
    assert agent.status.code == 1 and fails.status.code == 2  # type: ignore[attr-defined]
    assert fails.status.message == "ValueError: boom"  # type: ignore[attr-defined]
    assert [e.name for e in fails.events] == ["exception"]  # type: ignore[attr-defined]
    assert [e.name for e in llm.events] == ["first_token"]  # type: ignore[attr-defined]

    # lanterna's (MLflow's) attributes...
    llm_attrs = attrs(llm)
    assert mlflow_value(llm_attrs["mlflow.spanType"]) == "CHAT_MODEL"
    assert mlflow_value(llm_attrs["mlflow.spanInputs"])["model"] == "gpt-4o-mini"
    assert "mlflow.spanOutputs" in llm_attrs and "mlflow.traceRequestId" in llm_attrs
    # ... and the OpenTelemetry GenAI ones.
    assert llm.kind == 3  # type: ignore[attr-defined]  # CLIENT
    assert llm_attrs["gen_ai.operation.name"] == "chat"
    assert llm_attrs["gen_ai.request.model"] == "gpt-4o-mini"
    assert llm_attrs["gen_ai.response.model"] == "gpt-4o-mini-2024"
    assert llm_attrs["gen_ai.provider.name"] == "openai"
    assert llm_attrs["gen_ai.usage.input_tokens"] == 7
    assert llm_attrs["gen_ai.usage.output_tokens"] == 3
    assert llm_attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert json.loads(llm_attrs["gen_ai.input.messages"]) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather 0?"}]}]
    assert json.loads(llm_attrs["gen_ai.system_instructions"]) == [
        {"type": "text", "content": "be brief"}]
    assert json.loads(llm_attrs["gen_ai.output.messages"]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "sunny"}],
         "finish_reason": "stop"}]
    tool_attrs = attrs(tool)
    assert tool_attrs["gen_ai.operation.name"] == "execute_tool"
    assert tool_attrs["gen_ai.tool.name"] == "lookup"
    assert json.loads(tool_attrs["gen_ai.tool.call.arguments"]) == {"city": "Lisbon"}
    assert json.loads(tool_attrs["gen_ai.tool.call.result"]) == {"city": "Lisbon", "temp": 21}
    agent_attrs = attrs(agent)
    assert agent_attrs["gen_ai.operation.name"] == "invoke_agent"
    assert agent_attrs["gen_ai.agent.name"] == "agent"
    assert agent_attrs["mlflow.traceTag.team"] == "search"
    retrieve_attrs = attrs(retrieve)
    assert retrieve_attrs["gen_ai.operation.name"] == "retrieval"
    assert json.loads(retrieve_attrs["gen_ai.retrieval.documents"]) == [
        {"id": "d1", "content": "it is sunny", "score": 0.9, "metadata": {"score": 0.9}}]
    [link] = retrieve.links  # type: ignore[attr-defined]
    assert bytes(link.trace_id).hex() == "ab" * 16 and bytes(link.span_id).hex() == "cd" * 8
    assert "gen_ai.operation.name" not in attrs(fails)


def test_a_receiver_down_for_seconds_loses_nothing(tmp_path: Path) -> None:
    receiver = OtlpReceiver().start()
    receiver.stop()  # down before the first span; the port is kept for the restart
    restart = threading.Timer(4.0, receiver.start)
    restart.start()
    try:
        stats = run_app(tmp_path, receiver, traces=40)
    finally:
        restart.join()
        receiver.stop()
    assert len(receiver.spans) == 200
    assert len(set(receiver.span_ids())) == 200
    assert stats["spans_exported"] == 200 and stats["otlp_spans_sent"] == 200
    assert stats["traces_exported"] == 40
    assert stats["spans_dropped"] == 0 and stats["queued"] == 0
    assert stats["export_failures"] > 0 and stats["otlp_requests_failed"] > 0


def test_retry_after_is_honoured_and_refusals_are_counted(
    tmp_path: Path, receiver: OtlpReceiver
) -> None:
    receiver.refuse = [(503, "1"), (429, "1")]
    stats = run_app(tmp_path, receiver, traces=2)
    assert len(set(receiver.span_ids())) == len(receiver.spans) == 10
    # Two refusals asking to wait a second each, then one accepted request: no request was
    # sent inside a Retry-After window.
    assert receiver.requests == 3
    assert stats["otlp_requests_failed"] == 2 and stats["spans_dropped"] == 0

    receiver.refuse = [(400, None)]
    receiver.spans.clear()
    stats = run_app(tmp_path, receiver, traces=1)
    assert receiver.spans == []  # refused for its content: not retried (the OTLP rule)
    assert stats["otlp_spans_rejected"] == 5 and stats["spans_rejected"] == 5


def test_endpoint_and_headers_from_the_standard_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LANTERNA_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                 "LANTERNA_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20t,x=1")
    assert configured_endpoint() == "http://collector:4318/v1/traces"
    assert configured_headers() == {"authorization": "Bearer t", "x": "1"}
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://other:4318/custom")
    assert configured_endpoint() == "http://other:4318/custom"
    monkeypatch.setenv("LANTERNA_OTLP_ENDPOINT", "https://mine:443/v1/traces")
    assert configured_endpoint() == "https://mine:443/v1/traces"
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=prod,service.name=x")
    monkeypatch.setenv("OTEL_SERVICE_NAME", "svc")
    assert resource_attributes()["service.name"] == "svc"
    assert resource_attributes()["deployment.environment"] == "prod"


def test_export_to_lanterna_server_stores_every_span_once(tmp_path: Path) -> None:
    pytest.importorskip("starlette")
    from lanterna.store.sql.store import SqlStore
    from lanterna.testing.server import running_server

    uri = f"sqlite:///{tmp_path / 'server.db'}"
    with running_server(uri) as server:
        receiver = OtlpReceiver()
        receiver.port = server.port  # only its URL is used: the server is the receiver
        stats = run_app(tmp_path, receiver, traces=2, env={"LANTERNA_EXPORT_TO": "otlp"})
    assert stats["otlp_spans_sent"] == 10 and stats["spans_dropped"] == 0
    store = SqlStore(uri)
    try:
        traces, _ = store.search_traces(["0"])
        assert len(traces) == 2
        for info in traces:
            trace = store.get_trace(info.info.trace_id)
            assert trace is not None
            spans = {s.name: s for s in trace.data.spans}
            assert len(trace.data.spans) == 5
            assert spans["agent"].span_type == "AGENT" and spans["llm"].span_type == "CHAT_MODEL"
            assert spans["llm"].parent_id == spans["agent"].span_id
            assert spans["llm"].inputs["model"] == "gpt-4o-mini"
            assert spans["llm"].get_attribute("gen_ai.usage.input_tokens") == 7
            assert spans["fails"].status.status_code == "ERROR"
            assert spans["retrieve"].links == [
                Link("tr-" + "ab" * 16, "cd" * 8, {"why": "batch"})]
            assert trace.info.tags["team"] == "search"
            assert trace.info.state.value == "OK"
    finally:
        store.dispose()


CAPTURED_APP = '''
import json
import lanterna, lanterna.otel
from lanterna.export import setup
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
provider.add_span_processor(lanterna.otel.SpanProcessor())
with lanterna.start_span("lanterna.root"):
    with provider.get_tracer("app").start_as_current_span("otel.child"):
        pass
setup.flush(30)
print(json.dumps([s.name for s in exporter.get_finished_spans()]))
'''


@pytest.mark.parametrize("send_captured", [False, True])
def test_captured_spans_are_left_to_the_applications_exporter(
    tmp_path: Path, receiver: OtlpReceiver, send_captured: bool
) -> None:
    pytest.importorskip("opentelemetry.sdk")
    env = {"LANTERNA_OTLP_ENDPOINT": receiver.url, "LANTERNA_TRACKING_URI": "memory://"}
    if send_captured:
        env["LANTERNA_OTLP_EXPORT_CAPTURED"] = "true"
    result = run_python(CAPTURED_APP, tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == ["otel.child"]
    sent = sorted(span.name for _, _, span in receiver.spans)
    assert sent == (["lanterna.root", "otel.child"] if send_captured else ["lanterna.root"])
