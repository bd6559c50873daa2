"""Streamed calls: one event per chunk, the rebuilt final response, usage, abandoned streams."""

from __future__ import annotations

import gc
import importlib.util
import json
from collections.abc import Callable
from typing import Any

import openai
import pytest

import lanterna
from lanterna.entities import Span, SpanStatusCode, SpanType, Trace

pytestmark = pytest.mark.usefixtures("autolog")
HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
needs_responses = pytest.mark.skipif(not HAS_RESPONSES, reason="openai < 1.66: no Responses API")

MESSAGES = [{"role": "user", "content": "What is your favorite color?"}]
REPLY = "Fake reply to: What is your favorite color?"
USAGE = {"input_tokens": 5, "output_tokens": 8, "total_tokens": 13}
Attrs = Callable[[Span], dict[str, Any]]


def chunk_values(span: Span) -> list[Any]:
    assert [e.name for e in span.events] == [
        f"mlflow.chunk.item.{i}" for i in range(len(span.events))
    ]
    return [json.loads(e.attributes["mlflow.chunk.value"]) for e in span.events]


def wire(chunk: Any) -> Any:
    return chunk.model_dump(mode="json", by_alias=True, exclude_unset=True)


def chat_output(content: str | None, finish: str | None, usage: Any, cid: str) -> Any:
    return {
        "id": cid,
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "gpt-test",
        "system_fingerprint": "fp_lanterna",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish,
            }
        ],
        "usage": usage,
    }


@pytest.mark.parametrize("include_usage", [True, False])
def test_chat_stream(
    client: openai.OpenAI,
    last_trace: Callable[[], Trace],
    own_attributes: Attrs,
    include_usage: bool,
) -> None:
    options = {"include_usage": True} if include_usage else None
    kwargs: dict[str, Any] = {"stream_options": options} if options else {}
    stream = client.chat.completions.create(
        model="gpt-test", messages=MESSAGES, stream=True, **kwargs
    )
    assert isinstance(stream, openai.Stream)
    assert stream.response.status_code == 200
    chunks = list(stream)
    trace = last_trace()
    (span,) = trace.data.spans
    assert (span.name, span.span_type) == ("Completions", SpanType.CHAT_MODEL)
    assert span.status.status_code == SpanStatusCode.OK
    assert chunk_values(span) == [wire(c) for c in chunks]
    usage = chunks[-1].usage.model_dump(mode="json") if include_usage else None
    assert span.outputs == chat_output(REPLY, "stop", usage, chunks[0].id)
    attributes = own_attributes(span)
    assert attributes["stream"] is True
    assert "lanterna.stream.abandoned" not in attributes
    if include_usage:
        assert attributes["mlflow.chat.tokenUsage"] == USAGE
        assert trace.info.token_usage == USAGE
    else:
        assert "mlflow.chat.tokenUsage" not in attributes
        assert trace.info.token_usage is None
    assert trace.info.response_preview == REPLY


@pytest.mark.parametrize("include_usage", [True, False])
def test_async_chat_stream(
    run_async: Callable[..., Any],
    last_trace: Callable[[], Trace],
    own_attributes: Attrs,
    include_usage: bool,
) -> None:
    async def body(c: openai.AsyncOpenAI) -> list[Any]:
        with lanterna.start_span("parent"):
            stream = await c.chat.completions.create(
                model="gpt-test",
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": include_usage},
            )
            assert isinstance(stream, openai.AsyncStream)
            async with stream:
                return [chunk async for chunk in stream]

    chunks = run_async(body)
    root, span = last_trace().data.spans
    assert span.name == "AsyncCompletions"
    assert span.parent_id == root.span_id
    assert chunk_values(span) == [wire(c) for c in chunks]
    usage = chunks[-1].usage.model_dump(mode="json") if include_usage else None
    assert span.outputs == chat_output(REPLY, "stop", usage, chunks[0].id)
    assert ("mlflow.chat.tokenUsage" in own_attributes(span)) is include_usage


def test_tool_call_deltas_are_merged(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ]
    messages = [{"role": "user", "content": "What's the weather in Paris?"}]
    chunks = list(
        client.chat.completions.create(
            model="gpt-test", messages=messages, tools=tools, stream=True
        )
    )
    (span,) = last_trace().data.spans
    (choice,) = span.outputs["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": chunks[0].choices[0].delta.tool_calls[0].id,
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert own_attributes(span)["mlflow.chat.tools"] == tools


def test_legacy_completion_stream(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    chunks = list(
        client.completions.create(
            model="gpt-test", prompt="Say hi", stream=True, stream_options={"include_usage": True}
        )
    )
    (span,) = last_trace().data.spans
    assert (span.name, span.span_type) == ("Completions", SpanType.LLM)
    assert len(span.events) == len(chunks)
    # As MLflow records a streamed legacy completion: the text, concatenated.
    assert span.outputs == "Fake reply to: Say hi"
    assert own_attributes(span)["mlflow.llm.model"] == "gpt-test"
    assert own_attributes(span)["mlflow.chat.tokenUsage"] == {
        "input_tokens": 2,
        "output_tokens": 5,
        "total_tokens": 7,
    }


@needs_responses
def test_responses_stream(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    events = list(client.responses.create(model="gpt-test", input="Tell me a joke", stream=True))
    trace = last_trace()
    (span,) = trace.data.spans
    assert (span.name, span.span_type) == ("Responses", SpanType.CHAT_MODEL)
    assert chunk_values(span) == [wire(e) for e in events]
    completed = events[-1]
    assert completed.type == "response.completed"
    assert span.outputs == completed.response.model_dump(mode="json", by_alias=True)
    assert own_attributes(span)["mlflow.chat.tokenUsage"] == {
        "input_tokens": 4,
        "output_tokens": 7,
        "total_tokens": 11,
    }
    assert trace.info.response_preview == "Fake reply to: Tell me a joke"


@needs_responses
def test_async_responses_stream(
    run_async: Callable[..., Any], last_trace: Callable[[], Trace]
) -> None:
    async def body(c: openai.AsyncOpenAI) -> list[Any]:
        stream = await c.responses.create(model="gpt-test", input="hi", stream=True)
        return [e async for e in stream]

    events = run_async(body)
    (span,) = last_trace().data.spans
    assert span.name == "AsyncResponses"
    assert len(span.events) == len(events)
    assert span.outputs["output"][0]["content"][0]["text"] == "Fake reply to: hi"


def test_stream_helpers_are_traced_once(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    completions = client.chat.completions
    if not hasattr(completions, "stream"):  # openai < 1.92
        completions = client.beta.chat.completions
    with completions.stream(model="gpt-test", messages=MESSAGES) as stream:
        final = stream.get_final_completion()
    assert final.choices[0].message.content == REPLY
    (span,) = last_trace().data.spans
    assert span.outputs["choices"][0]["message"]["content"] == REPLY
    assert len(span.events) > 2
    if not HAS_RESPONSES:
        return

    with client.responses.stream(model="gpt-test", input="hi") as events:
        response = events.get_final_response()
    (span,) = last_trace().data.spans
    assert span.name == "Responses"
    assert span.outputs["id"] == response.id


# -- streams that end early ----------------------------------------------------------------------


def assert_abandoned(span: Span, own_attributes: Attrs, chunks: int) -> None:
    assert span.status.status_code == SpanStatusCode.OK
    assert span.end_time_ns is not None
    assert own_attributes(span)["lanterna.stream.abandoned"] is True
    assert len(span.events) == chunks


def test_break_ends_the_span_with_what_arrived(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    with lanterna.start_span("parent"):
        stream = client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
        for index, _chunk in enumerate(stream):
            if index == 2:
                break
        # The span ended at the ``break``, even though ``stream`` is still referenced here.
    root, span = last_trace().data.spans
    assert_abandoned(span, own_attributes, 3)
    assert span.end_time_ns <= root.end_time_ns
    assert span.outputs["choices"][0]["message"]["content"] == "Fake reply"
    assert span.outputs["choices"][0]["finish_reason"] is None
    stream.close()


def test_close_ends_the_span(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    with client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True) as s:
        next(s)
    (span,) = last_trace().data.spans
    assert_abandoned(span, own_attributes, 1)
    assert span.outputs["choices"][0]["message"] == {"role": "assistant", "content": ""}

    stream = client.completions.create(model="gpt-test", prompt="x", stream=True)
    next(stream)
    stream.close()
    (span,) = last_trace().data.spans
    assert_abandoned(span, own_attributes, 1)


def test_a_stream_never_read_ends_when_collected(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    stream = client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    assert lanterna.get_last_active_trace_id() is None
    del stream
    gc.collect()
    (span,) = last_trace().data.spans
    assert_abandoned(span, own_attributes, 0)
    assert span.outputs["choices"] == []


def test_async_break_and_close(
    run_async: Callable[..., Any], last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    async def body(c: openai.AsyncOpenAI) -> None:
        stream = await c.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
        async for _chunk in stream:
            break
        await stream.close()

    run_async(body)
    (span,) = last_trace().data.spans
    assert_abandoned(span, own_attributes, 1)

    async def never_read(c: openai.AsyncOpenAI) -> None:
        await c.completions.create(model="gpt-test", prompt="hi", stream=True)
        gc.collect()

    run_async(never_read)
    (span,) = last_trace().data.spans
    assert_abandoned(span, own_attributes, 0)
    assert span.name == "AsyncCompletions"


@needs_responses
def test_responses_stream_abandoned_keeps_partial_text(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    stream = client.responses.create(model="gpt-test", input="Tell me a joke", stream=True)
    for event in stream:
        if event.type == "response.output_text.delta" and event.delta == " me":
            break
    stream.close()
    (span,) = last_trace().data.spans
    assert own_attributes(span)["lanterna.stream.abandoned"] is True
    assert span.outputs["status"] == "in_progress"
    (item,) = span.outputs["output"]
    assert item["content"][0]["text"] == "Fake reply to: Tell me"


def test_error_in_the_middle_of_a_stream(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    received = []
    with (
        pytest.raises(Exception, match=r"(?i)incomplete|connection") as caught,
        lanterna.start_span("parent"),
    ):
        for chunk in client.chat.completions.create(
            model="broken-stream", messages=MESSAGES, stream=True
        ):
            received.append(chunk)
    root, span = last_trace().data.spans
    assert len(received) == 2
    assert span.status.status_code == SpanStatusCode.ERROR
    assert [e.name for e in span.events] == [
        "mlflow.chunk.item.0",
        "mlflow.chunk.item.1",
        "exception",
    ]
    assert span.events[-1].attributes["exception.type"] == type(caught.value).__name__
    assert span.outputs["choices"][0]["message"]["content"] == "Fake"
    assert root.status.status_code == SpanStatusCode.ERROR


def test_reading_on_after_a_break_still_gets_every_chunk(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    stream = client.chat.completions.create(model="gpt-test", messages=MESSAGES, stream=True)
    first = []
    for chunk in stream:
        first.append(chunk)
        break
    rest = list(stream)  # the span ended at the break; the caller still gets everything
    text = "".join(c.choices[0].delta.content or "" for c in first + rest)
    assert text == REPLY
    (span,) = last_trace().data.spans
    assert_abandoned(span, own_attributes, 1)
