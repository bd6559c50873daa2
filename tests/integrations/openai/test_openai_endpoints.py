"""Legacy completions, embeddings and the Responses API; tools and trace previews."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable
from typing import Any

import openai
import pydantic
import pytest

import lanterna
from lanterna.entities import Span, SpanType, Trace

pytestmark = pytest.mark.usefixtures("autolog")
HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None
needs_responses = pytest.mark.skipif(not HAS_RESPONSES, reason="openai < 1.66: no Responses API")

Attrs = Callable[[Span], dict[str, Any]]
WEATHER = "What's the weather in Paris?"
PARAMETERS = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
}
CHAT_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": PARAMETERS,
    },
}
RESPONSES_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "The weather in a city",
    "parameters": PARAMETERS,
    "strict": True,
}


def test_legacy_completion(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    response = client.completions.create(model="gpt-test", prompt="Say hi", max_tokens=20)
    trace = last_trace()
    (span,) = trace.data.spans
    assert (span.name, span.span_type) == ("Completions", SpanType.LLM)
    assert span.inputs == {"model": "gpt-test", "prompt": "Say hi", "max_tokens": 20}
    assert span.outputs == response.model_dump(mode="json")
    assert own_attributes(span) == {
        "model": "gpt-test",
        "max_tokens": 20,
        "mlflow.llm.model": "gpt-test",
        "mlflow.message.format": "openai",
        "mlflow.chat.tokenUsage": {"input_tokens": 2, "output_tokens": 5, "total_tokens": 7},
    }
    assert trace.info.response_preview == "Fake reply to: Say hi"


def test_embeddings(
    client: openai.OpenAI,
    run_async: Callable[..., Any],
    last_trace: Callable[[], Trace],
    own_attributes: Attrs,
) -> None:
    response = client.embeddings.create(model="embed-test", input=["hello world", "bye"])
    (span,) = last_trace().data.spans
    assert (span.name, span.span_type) == ("Embeddings", SpanType.EMBEDDING)
    assert span.inputs == {"model": "embed-test", "input": ["hello world", "bye"]}
    assert span.outputs == response.model_dump(mode="json")
    assert own_attributes(span) == {
        "model": "embed-test",
        "mlflow.llm.model": "embed-test",
        "mlflow.chat.tokenUsage": {"input_tokens": 3, "output_tokens": 0, "total_tokens": 3},
    }

    async def body(c: openai.AsyncOpenAI) -> Any:
        return await c.embeddings.create(model="embed-test", input="x", dimensions=2)

    assert len(run_async(body).data[0].embedding) == 2
    (span,) = last_trace().data.spans
    assert (span.name, span.span_type) == ("AsyncEmbeddings", SpanType.EMBEDDING)


@needs_responses
def test_responses_create(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    response = client.responses.create(
        model="gpt-test", input="Tell me a joke", instructions="Be funny", temperature=0.2
    )
    trace = last_trace()
    (span,) = trace.data.spans
    assert (span.name, span.span_type) == ("Responses", SpanType.CHAT_MODEL)
    assert span.inputs == {
        "model": "gpt-test",
        "input": "Tell me a joke",
        "instructions": "Be funny",
        "temperature": 0.2,
    }
    assert span.outputs == response.model_dump(mode="json", by_alias=True)
    assert own_attributes(span) == {
        "model": "gpt-test",
        "instructions": "Be funny",
        "temperature": 0.2,
        "mlflow.llm.model": "gpt-test",
        "mlflow.message.format": "openai",
        "mlflow.chat.tokenUsage": {"input_tokens": 6, "output_tokens": 7, "total_tokens": 13},
    }
    assert trace.info.response_preview == "Fake reply to: Tell me a joke"


@needs_responses
def test_responses_parse(client: openai.OpenAI, last_trace: Callable[[], Trace]) -> None:
    class Joke(pydantic.BaseModel):
        setup: str
        punchline: str

    parsed = client.responses.parse(model="gpt-test", input="Tell me a joke", text_format=Joke)
    assert parsed.output_parsed == Joke(setup="joke", punchline="joke")
    (span,) = last_trace().data.spans
    assert span.name == "Responses"
    assert json.loads(span.outputs["output"][0]["content"][0]["text"]) == {
        "setup": "joke",
        "punchline": "joke",
    }


# -- tools --------------------------------------------------------------------------------------


def test_chat_tools_and_tool_calls(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    messages: list[dict[str, Any]] = [{"role": "user", "content": WEATHER}]
    with lanterna.start_span("agent"):
        first = client.chat.completions.create(
            model="gpt-test", messages=messages, tools=[CHAT_TOOL]
        )
        call = first.choices[0].message.tool_calls[0]
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"},
        ]
        second = client.chat.completions.create(
            model="gpt-test", messages=messages, tools=[CHAT_TOOL]
        )
    _, asks, answers = last_trace().data.spans
    assert own_attributes(asks)["mlflow.chat.tools"] == [CHAT_TOOL]
    assert own_attributes(asks)["tools"] == [CHAT_TOOL]
    (choice,) = asks.outputs["choices"]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["tool_calls"] == [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"location": "Paris"}'},
        }
    ]
    assert answers.inputs["messages"][1]["tool_calls"][0]["id"] == call.id
    assert answers.outputs["choices"][0]["message"]["content"] == "The tool said: sunny, 21 C"
    assert second.choices[0].message.content == "The tool said: sunny, 21 C"


@needs_responses
def test_responses_function_calling(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    response = client.responses.create(
        model="gpt-test",
        input=WEATHER,
        tools=[RESPONSES_TOOL, {"type": "web_search_preview"}],
    )
    (span,) = last_trace().data.spans
    assert own_attributes(span)["mlflow.chat.tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The weather in a city",
                "parameters": PARAMETERS,
                "strict": True,
            },
        },
        {"type": "function", "function": {"name": "web_search_preview"}},
    ]
    (item,) = span.outputs["output"]
    assert item["type"] == "function_call"
    assert item["name"] == "get_weather"
    assert item["call_id"] == response.output[0].call_id
    assert json.loads(item["arguments"]) == {"location": "Paris"}


def test_deprecated_functions_argument_counts_as_tools(
    client: openai.OpenAI, last_trace: Callable[[], Trace], own_attributes: Attrs
) -> None:
    function = CHAT_TOOL["function"]
    client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], functions=[function]
    )
    (span,) = last_trace().data.spans
    assert own_attributes(span)["mlflow.chat.tools"] == [CHAT_TOOL]


# -- previews and what inputs keep ------------------------------------------------------------


def test_previews_show_the_last_user_and_assistant_messages(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    conversation = [
        {"role": "system", "content": "Be brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": [{"type": "text", "text": "second question"}]},
    ]
    client.chat.completions.create(model="gpt-test", messages=conversation)
    info = last_trace().info
    assert info.request_preview == "second question"
    assert info.response_preview == "Fake reply to: second question"


def test_credentials_in_extra_headers_are_not_recorded(
    client: openai.OpenAI, openai_server: Any, last_trace: Callable[[], Trace]
) -> None:
    headers = {"Authorization": "Bearer sk-secret", "X-Api-Key": "k", "X-Request-Tag": "a"}
    client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], extra_headers=headers
    )
    (span,) = last_trace().data.spans
    assert span.inputs["extra_headers"] == {
        "Authorization": "<redacted>",
        "X-Api-Key": "<redacted>",
        "X-Request-Tag": "a",
    }
    assert "sk-secret" not in json.dumps(last_trace().to_dict())
    sent = openai_server.requests[-1]["headers"]
    assert sent["authorization"] == "Bearer sk-secret"  # the request itself is untouched
    assert sent["x-request-tag"] == "a"


def test_not_given_markers_are_left_out(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], temperature=openai.NOT_GIVEN
    )
    (span,) = last_trace().data.spans
    assert span.inputs == {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
