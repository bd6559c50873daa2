"""OpenTelemetry GenAI attributes written on export for each span kind they cover."""

from __future__ import annotations

import json

import lanterna
from lanterna.otel.genai import genai_attributes
from lanterna.testing.pytest_plugin import TracesRecorded


def spans_of(traces: TracesRecorded) -> dict[str, object]:
    return {s.name: s for s in traces.last().data.spans}


def test_embedding_completion_and_tool_call_spans(traces: TracesRecorded) -> None:
    with lanterna.start_span("agent", span_type="AGENT"):
        with lanterna.start_span("embed", span_type="EMBEDDING") as span:
            span.set_inputs({"model": "text-embedding-3-small", "input": "hi"})
            span.set_outputs({"model": "text-embedding-3-small",
                              "usage": {"prompt_tokens": 2, "total_tokens": 2}})
        with lanterna.start_span("complete", span_type="LLM") as span:
            span.set_inputs({"model": "gpt-3.5-turbo-instruct", "prompt": "Say hi"})
            span.set_outputs({"choices": [{"text": "hi", "finish_reason": "length"}]})
        with lanterna.start_span("chat", span_type="CHAT_MODEL") as span:
            span.set_inputs({"messages": [
                {"role": "user", "content": "weather?"},
                {"role": "assistant", "content": None, "tool_calls": [{
                    "id": "c1", "type": "function",
                    "function": {"name": "lookup", "arguments": "{\"city\": \"Porto\"}"}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "sunny"}]})
    spans = spans_of(traces)
    embed = genai_attributes(spans["embed"])  # type: ignore[arg-type]
    assert embed == {"gen_ai.operation.name": "embeddings",
                     "gen_ai.request.model": "text-embedding-3-small",
                     "gen_ai.response.model": "text-embedding-3-small",
                     "gen_ai.usage.input_tokens": 2}
    complete = genai_attributes(spans["complete"])  # type: ignore[arg-type]
    assert complete["gen_ai.operation.name"] == "text_completion"
    assert json.loads(str(complete["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "Say hi"}]}]
    assert json.loads(str(complete["gen_ai.output.messages"])) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "hi"}],
         "finish_reason": "length"}]
    chat = genai_attributes(spans["chat"])  # type: ignore[arg-type]
    assert json.loads(str(chat["gen_ai.input.messages"])) == [
        {"role": "user", "parts": [{"type": "text", "content": "weather?"}]},
        {"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "lookup",
                                         "arguments": {"city": "Porto"}}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1",
                                    "result": "sunny"}]},
    ]
    assert genai_attributes(spans["agent"]) == {  # type: ignore[arg-type]
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "agent"}


def test_other_span_types_get_none_and_odd_values_never_raise(traces: TracesRecorded) -> None:
    with lanterna.start_span("step", span_type="CHAIN") as step:
        step.set_inputs({"x": 1})
    with lanterna.start_span("odd", span_type="CHAT_MODEL") as odd:
        odd.set_inputs({"messages": "not a list", "model": 3})
        odd.set_outputs({"choices": "nope", "usage": {"prompt_tokens": "x"}})
    chain, strange = traces.all()[-2].data.spans[0], traces.last().data.spans[0]
    assert genai_attributes(chain) == {}
    assert genai_attributes(strange)["gen_ai.operation.name"] == "chat"
