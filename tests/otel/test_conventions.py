"""Other tracers' attribute conventions mapped to lanterna's span fields."""

from __future__ import annotations

import json

from lanterna.otel.conventions import MISSING, normalize_attributes


def test_openinference_llm_span_with_flattened_messages() -> None:
    attrs = {
        "openinference.span.kind": "LLM",
        "llm.model_name": "gpt-4o-mini",
        "llm.provider": "openai",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "Be brief.",
        "llm.input_messages.1.message.role": "user",
        "llm.input_messages.1.message.content": "Hi?",
        "llm.output_messages.0.message.role": "assistant",
        "llm.output_messages.0.message.content": "Hello!",
        "llm.output_messages.0.message.tool_calls.0.tool_call.id": "c1",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
        "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"q": 1}',
        "llm.token_count.prompt": 12,
        "llm.token_count.completion": 3,
        "session.id": "s-1",
        "user.id": "u-1",
    }
    n = normalize_attributes(attrs, "ChatCompletion")
    assert n.span_type == "LLM"
    assert n.inputs == {"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi?"}]}
    message = n.outputs["choices"][0]["message"]
    assert message["content"] == "Hello!"
    assert message["tool_calls"] == [{"id": "c1", "type": "function",
                                      "function": {"name": "lookup", "arguments": '{"q": 1}'}}]
    assert n.token_usage == {"input_tokens": 12, "output_tokens": 3, "total_tokens": 15}
    assert (n.model, n.provider, n.session_id, n.user_id) == ("gpt-4o-mini", "openai", "s-1", "u-1")
    assert n.attributes["mlflow.chat.tokenUsage"] == n.token_usage
    assert n.attributes["mlflow.llm.model"] == "gpt-4o-mini"
    assert n.attributes["mlflow.message.format"] == "openinference"
    assert (n.attributes["mlflow.trace.session"], n.attributes["mlflow.trace.user"]) == (
        "s-1", "u-1")
    # raw attributes are kept
    assert n.attributes["llm.input_messages.1.message.content"] == "Hi?"


def test_openinference_values_and_retriever_documents() -> None:
    chain = normalize_attributes({
        "openinference.span.kind": "CHAIN",
        "input.value": '{"question": "why?"}', "input.mime_type": "application/json",
        "output.value": "because", "output.mime_type": "text/plain",
    }, "chain")
    assert chain.span_type == "CHAIN"
    assert chain.inputs == {"question": "why?"}
    assert chain.outputs == "because"

    retriever = normalize_attributes({
        "openinference.span.kind": "RETRIEVER",
        "input.value": "lanterns",
        "retrieval.documents.0.document.id": "d1",
        "retrieval.documents.0.document.content": "A lantern gives light.",
        "retrieval.documents.0.document.score": 0.9,
        "retrieval.documents.0.document.metadata": '{"doc_uri": "a.txt"}',
        "retrieval.documents.1.document.content": "Second.",
    }, "retrieve")
    assert retriever.span_type == "RETRIEVER"
    assert retriever.outputs == [
        {"page_content": "A lantern gives light.", "metadata": {"doc_uri": "a.txt", "score": 0.9},
         "id": "d1"},
        {"page_content": "Second.", "metadata": {}, "id": None},
    ]


def test_genai_current_messages_with_parts() -> None:
    attrs = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be kind."}]),
        "gen_ai.input.messages": json.dumps([
            {"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]},
            {"role": "assistant", "parts": [
                {"type": "tool_call", "id": "t1", "name": "weather",
                 "arguments": {"city": "Paris"}}
            ]},
            {"role": "tool",
             "parts": [{"type": "tool_call_response", "id": "t1", "result": "rain"}]},
        ]),
        "gen_ai.output.messages": json.dumps([
            {"role": "assistant", "parts": [{"type": "text", "content": "Rainy."}],
             "finish_reason": "stop"},
        ]),
        "gen_ai.usage.input_tokens": 20,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 4,
        "gen_ai.conversation.id": "conv-9",
    }
    n = normalize_attributes(attrs, "chat gpt-4o")
    assert n.span_type == "CHAT_MODEL"
    assert n.inputs["messages"] == [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "t1", "type": "function",
             "function": {"name": "weather", "arguments": '{"city": "Paris"}'}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "rain"},
    ]
    assert n.outputs == {"choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Rainy."},
         "finish_reason": "stop"}]}
    assert n.token_usage == {"input_tokens": 20, "output_tokens": 5, "total_tokens": 25,
                             "cache_read_input_tokens": 4}
    assert (n.model, n.provider, n.session_id) == ("gpt-4o-2024-08-06", "openai", "conv-9")
    assert n.attributes["mlflow.message.format"] == "gen_ai"


def test_genai_tool_span_and_operation_types() -> None:
    tool = normalize_attributes({
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "weather",
        "gen_ai.tool.call.arguments": '{"city": "Oslo"}', "gen_ai.tool.call.result": '"snow"',
    }, "execute_tool weather")
    assert (tool.span_type, tool.inputs, tool.outputs) == ("TOOL", {"city": "Oslo"}, "snow")
    for operation, expected in [("text_completion", "LLM"), ("embeddings", "EMBEDDING"),
                                ("invoke_agent", "AGENT"), ("retrieval", "RETRIEVER"),
                                ("invoke_workflow", "CHAIN"), ("search_memory", "MEMORY")]:
        assert normalize_attributes({"gen_ai.operation.name": operation}, "x").span_type == expected


def test_older_indexed_genai_keys_from_openllmetry() -> None:
    attrs = {
        "llm.request.type": "chat",
        "gen_ai.system": "OpenAI",
        "gen_ai.request.model": "gpt-3.5-turbo",
        "gen_ai.prompt.0.role": "user",
        "gen_ai.prompt.0.content": "Tell me a joke",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "Why did...",
        "gen_ai.completion.0.finish_reason": "stop",
        "gen_ai.completion.1.role": "assistant",
        "gen_ai.completion.1.tool_calls.0.name": "joke_db",
        "gen_ai.completion.1.tool_calls.0.arguments": '{"n": 1}',
        "gen_ai.usage.prompt_tokens": 7,
        "gen_ai.usage.completion_tokens": 9,
        "llm.usage.total_tokens": 16,
        "traceloop.association.properties.session_id": "sess",
        "traceloop.association.properties.user_id": "alice",
    }
    n = normalize_attributes(attrs, "openai.chat")
    assert n.span_type == "CHAT_MODEL"
    assert n.inputs == {"messages": [{"role": "user", "content": "Tell me a joke"}]}
    assert n.outputs["choices"][0] == {
        "index": 0, "message": {"role": "assistant", "content": "Why did..."},
        "finish_reason": "stop"}
    assert n.outputs["choices"][1]["message"]["tool_calls"][0]["function"] == {
        "name": "joke_db", "arguments": '{"n": 1}'}
    assert n.token_usage == {"input_tokens": 7, "output_tokens": 9, "total_tokens": 16}
    assert (n.model, n.provider, n.session_id, n.user_id) == (
        "gpt-3.5-turbo", "OpenAI", "sess", "alice")


def test_legacy_genai_events() -> None:
    events = [
        ("gen_ai.system.message", {"content": "Be terse."}),
        ("gen_ai.user.message", {"content": "2+2?"}),
        ("gen_ai.choice", {"index": 0, "finish_reason": "stop",
                           "message": '{"role": "assistant", "content": "4"}'}),
    ]
    n = normalize_attributes({"gen_ai.operation.name": "chat"}, "chat", events=events)
    assert n.inputs == {"messages": [{"role": "system", "content": "Be terse."},
                                     {"role": "user", "content": "2+2?"}]}
    assert n.outputs["choices"][0]["message"] == {"role": "assistant", "content": "4"}
    assert n.outputs["choices"][0]["finish_reason"] == "stop"


def test_traceloop_workflow_and_task() -> None:
    workflow = normalize_attributes({
        "traceloop.span.kind": "workflow", "traceloop.entity.name": "joke",
        "traceloop.entity.input": '{"args": [], "kwargs": {"topic": "cats"}}',
        "traceloop.entity.output": '"a joke"',
    }, "joke.workflow")
    assert (workflow.span_type, workflow.inputs, workflow.outputs) == (
        "WORKFLOW", {"topic": "cats"}, "a joke")
    assert normalize_attributes({"traceloop.span.kind": "task"}, "t").span_type == "TASK"
    assert normalize_attributes({"llm.request.type": "embedding"}, "e").span_type == "EMBEDDING"


def test_logfire_spans() -> None:
    pending = normalize_attributes(
        {"logfire.span_type": "pending_span", "logfire.pending_parent_id": "abc",
         "logfire.msg": "handling request"}, "handling {what}")
    assert pending.pending is True
    llm = normalize_attributes({
        "logfire.span_type": "span", "logfire.msg": "Chat Completion with 'gpt-4o'",
        "logfire.tags": ["LLM"],
        "request_data": json.dumps({"model": "gpt-4o", "messages": [{"role": "user",
                                                                      "content": "hi"}]}),
        "response_data": json.dumps({"message": {"role": "assistant", "content": "hey"},
                                     "usage": {"prompt_tokens": 3, "completion_tokens": 1}}),
    }, "Chat Completion with {request_data[model]!r}")
    assert llm.pending is False
    assert llm.name == "Chat Completion with 'gpt-4o'"
    assert llm.tags == ["LLM"]
    assert llm.span_type == "LLM"
    assert llm.inputs["messages"][0]["content"] == "hi"
    assert llm.outputs["choices"][0]["message"]["content"] == "hey"
    assert llm.token_usage == {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}
    assert llm.model == "gpt-4o"


def test_precedence_explicit_then_openinference_then_genai() -> None:
    attrs = {
        "mlflow.spanType": "AGENT",
        "mlflow.spanInputs": '{"q": "explicit"}',
        "openinference.span.kind": "LLM",
        "input.value": "openinference",
        "output.value": "oi-out",
        "gen_ai.operation.name": "chat",
        "gen_ai.output.messages": json.dumps([{"role": "assistant",
                                               "parts": [{"type": "text", "content": "g"}]}]),
        "llm.model_name": "oi-model",
        "gen_ai.request.model": "genai-model",
        "mlflow.chat.tokenUsage": {"input_tokens": 1, "output_tokens": 2},
        "gen_ai.usage.input_tokens": 100,
    }
    n = normalize_attributes(attrs, "x")
    assert n.span_type == "AGENT"
    assert n.inputs == {"q": "explicit"}
    assert n.outputs == "oi-out"
    assert n.model == "oi-model"
    assert n.token_usage == {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3}
    assert "mlflow.spanInputs" not in n.attributes  # lives in its own field
    # the raw usage dict under the explicit key is kept as given
    assert n.attributes["mlflow.chat.tokenUsage"] == {"input_tokens": 1, "output_tokens": 2}


def test_type_kept_unless_unknown_and_odd_values_tolerated() -> None:
    assert normalize_attributes({"gen_ai.operation.name": "chat"}, "x",
                                span_type="TOOL").span_type == "TOOL"
    assert normalize_attributes({"gen_ai.operation.name": "chat"}, "x",
                                span_type="UNKNOWN").span_type == "CHAT_MODEL"
    odd = normalize_attributes({
        "gen_ai.input.messages": "not json [", "llm.token_count.prompt": "many",
        "gen_ai.output.messages": 5, "llm.input_messages.x.message.role": "user",
        "retrieval.documents.0": "flat", "openinference.span.kind": 3,
    }, "odd")
    assert odd.inputs is MISSING and odd.token_usage is None
    assert odd.attributes["gen_ai.input.messages"] == "not json ["
    empty = normalize_attributes({}, "plain")
    assert (empty.span_type, empty.inputs, empty.outputs, empty.conventions) == (
        None, MISSING, MISSING, [])


def test_trace_tags_from_attributes() -> None:
    n = normalize_attributes({"mlflow.traceTag.team": "search", "mlflow.traceTag.n": 3}, "r")
    assert n.trace_tags == {"team": "search", "n": "3"}
