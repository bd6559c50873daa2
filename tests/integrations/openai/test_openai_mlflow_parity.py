"""OpenAI autolog records what MLflow records (issue 10): ``with_raw_response`` outputs parsed,
streamed content given as a list of parts, legacy completions streamed as one text."""

from __future__ import annotations

from collections.abc import Callable

import openai
import pytest

from lanterna.entities import SpanType, Trace

pytestmark = pytest.mark.usefixtures("autolog")
MESSAGES = [{"role": "user", "content": "Hello there"}]


def test_with_raw_response_records_the_parsed_response(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    raw = client.chat.completions.with_raw_response.create(model="gpt-test", messages=MESSAGES)
    assert raw.http_response.status_code == 200
    parsed = raw.parse()
    (span,) = last_trace().data.spans
    assert span.span_type == SpanType.CHAT_MODEL
    assert span.outputs == parsed.model_dump(mode="json")
    assert span.outputs["choices"][0]["message"]["content"] == "Fake reply to: Hello there"
    assert span.get_attribute("mlflow.chat.tokenUsage")["total_tokens"] > 0
    assert span.model_name == "gpt-test"

    legacy = client.completions.with_raw_response.create(model="gpt-test", prompt="Say hi")
    (span,) = last_trace().data.spans
    assert span.outputs == legacy.parse().model_dump(mode="json")


def test_streamed_content_parts_are_joined(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    chunks = list(client.chat.completions.create(
        model="content-parts", messages=MESSAGES, stream=True))
    assert isinstance(chunks[1].choices[0].delta.content, list)  # parts, as the server sent
    (span,) = last_trace().data.spans
    assert len(span.events) == len(chunks)
    message = span.outputs["choices"][0]["message"]
    assert message["content"] == "Fake reply to: Hello there"  # the text parts, in order
    assert span.outputs["choices"][0]["finish_reason"] == "stop"


def test_legacy_completion_stream_output_is_the_text(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    chunks = list(client.completions.create(model="gpt-test", prompt="Say hi", stream=True))
    (span,) = last_trace().data.spans
    assert span.span_type == SpanType.LLM
    assert span.outputs == "".join(c.choices[0].text for c in chunks if c.choices)
    assert span.outputs == "Fake reply to: Say hi"
