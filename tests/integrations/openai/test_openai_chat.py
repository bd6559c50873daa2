"""Chat completions through the real ``openai`` client: spans, nesting, usage, previews."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai
import pydantic
import pytest

import lanterna
from lanterna.entities import Span, SpanStatusCode, SpanType, Trace

pytestmark = pytest.mark.usefixtures("autolog")

MESSAGES = [
    {"role": "system", "content": "You are a friendly chat bot"},
    {"role": "user", "content": "What is your favorite color?"},
]
REPLY = "Fake reply to: What is your favorite color?"
USAGE = {"input_tokens": 11, "output_tokens": 8, "total_tokens": 19}
Attrs = Callable[[Span], dict[str, Any]]


def chat_api(client: Any) -> Any:
    """``client.chat.completions``, or ``client.beta.chat.completions`` where ``parse`` still
    lived there (openai < 1.92)."""
    completions = client.chat.completions
    return completions if hasattr(completions, "parse") else client.beta.chat.completions


def wire(response: Any) -> Any:
    return response.model_dump(mode="json", by_alias=True)


def test_chat_completion_nests_under_the_current_span(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    with lanterna.start_span("chat_iteration", span_type=SpanType.CHAIN) as parent:
        response = client.chat.completions.create(
            model="gpt-test", messages=MESSAGES, temperature=0.5, max_tokens=100
        )
    trace = last_trace()
    root, span = trace.data.spans
    assert root.span_id == parent.span_id
    assert span.parent_id == root.span_id
    assert (span.name, span.span_type) == ("Completions", SpanType.CHAT_MODEL)
    assert span.status.status_code == SpanStatusCode.OK
    assert span.inputs == {
        "model": "gpt-test",
        "messages": MESSAGES,
        "temperature": 0.5,
        "max_tokens": 100,
    }
    assert span.outputs == wire(response)
    assert own_attributes(span) == {
        "model": "gpt-test",
        "temperature": 0.5,
        "max_tokens": 100,
        "mlflow.llm.model": "gpt-test",
        "mlflow.message.format": "openai",
        "mlflow.chat.tokenUsage": USAGE,
    }
    assert span.events == []
    assert trace.info.token_usage == USAGE


def test_chat_completion_alone_is_a_trace_with_previews(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    client.chat.completions.create(model="gpt-test", messages=MESSAGES)
    trace = last_trace()
    (span,) = trace.data.spans
    assert span.parent_id is None
    assert trace.info.request_preview == "What is your favorite color?"
    assert trace.info.response_preview == REPLY
    assert trace.info.token_usage == USAGE
    assert trace.info.tags["mlflow.traceName"] == "Completions"


def test_async_chat_completion(
    run_async: Callable[..., Any], last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    async def body(c: openai.AsyncOpenAI) -> Any:
        with lanterna.start_span("parent"):
            return await c.chat.completions.create(model="gpt-test", messages=MESSAGES)

    response = run_async(body)
    root, span = last_trace().data.spans
    assert (span.name, span.span_type) == ("AsyncCompletions", SpanType.CHAT_MODEL)
    assert span.parent_id == root.span_id
    assert span.inputs == {"model": "gpt-test", "messages": MESSAGES}
    assert span.outputs == wire(response)
    assert own_attributes(span)["mlflow.chat.tokenUsage"] == USAGE


def test_token_usage_is_summed_over_the_trace(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    with lanterna.start_span("two calls"):
        client.chat.completions.create(model="gpt-test", messages=MESSAGES)
        client.chat.completions.create(model="gpt-test", messages=MESSAGES[1:])
    assert last_trace().info.token_usage == {
        "input_tokens": 11 + 5,
        "output_tokens": 8 + 8,
        "total_tokens": 19 + 13,
    }


def test_model_from_the_response_wins(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    client.chat.completions.create(model="slow-1", messages=MESSAGES)
    assert own_attributes(last_trace().data.spans[0])["mlflow.llm.model"] == "slow-1"


def test_parse_structured_output(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    class Color(pydantic.BaseModel):
        name: str
        hex_code: str

    result = chat_api(client).parse(model="gpt-test", messages=MESSAGES, response_format=Color)
    assert result.choices[0].message.parsed == Color(name="color", hex_code="color")
    (span,) = last_trace().data.spans
    assert (span.name, span.span_type) == ("Completions", SpanType.CHAT_MODEL)
    assert span.outputs["choices"][0]["message"]["parsed"] == {"name": "color", "hex_code": "color"}
    assert "Color" in own_attributes(span)["response_format"]
    assert own_attributes(span)["mlflow.chat.tokenUsage"]["total_tokens"] > 0


def test_async_parse(run_async: Callable[..., Any], last_trace: Callable[[], Trace]) -> None:
    class Color(pydantic.BaseModel):
        name: str

    async def body(c: openai.AsyncOpenAI) -> Any:
        return await chat_api(c).parse(model="m", messages=MESSAGES, response_format=Color)

    assert run_async(body).choices[0].message.parsed == Color(name="color")
    (span,) = last_trace().data.spans
    assert span.name == "AsyncCompletions"
    assert span.outputs["choices"][0]["message"]["parsed"] == {"name": "color"}


def test_several_choices(client: openai.OpenAI, last_trace: Callable[[], Trace]) -> None:
    client.chat.completions.create(model="gpt-test", messages=MESSAGES, n=3)
    (span,) = last_trace().data.spans
    assert [c["message"]["content"] for c in span.outputs["choices"]] == [REPLY] * 3


def test_each_call_is_its_own_span_across_threads(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with lanterna.start_span("fan out"), ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda i: client.chat.completions.create(
                    model=f"m{i}", messages=[{"role": "user", "content": f"q{i}"}]
                ),
                range(8),
            )
        )
    root, *children = last_trace().data.spans
    assert len(children) == 8
    assert {c.parent_id for c in children} == {root.span_id}
    assert sorted(c.inputs["model"] for c in children) == [f"m{i}" for i in range(8)]
