"""API errors become ERROR spans; lanterna's own failures never reach the caller."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
from collections.abc import Callable
from typing import Any

import openai
import pytest

import lanterna
from lanterna import _errors
from lanterna.entities import SpanStatusCode, Trace
from lanterna.integrations.openai import extract
from lanterna.testing.pytest_plugin import TracesRecorded

MESSAGES = [{"role": "user", "content": "What is your favorite color?"}]
HAS_RESPONSES = importlib.util.find_spec("openai.resources.responses") is not None

ERRORS = [
    ("error-400", openai.BadRequestError, {}),
    ("error-429", openai.RateLimitError, {}),
    ("error-500", openai.InternalServerError, {}),
    ("slow-3000", openai.APITimeoutError, {"timeout": 0.2}),
]


def capture(call: Callable[[], Any]) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("the call did not fail")


def describe(error: BaseException) -> tuple[Any, ...]:
    """What the caller can observe of an exception (besides identity and traceback)."""
    return (
        type(error),
        str(error),
        getattr(error, "status_code", None),
        getattr(error, "body", None),
        sorted(vars(error)),
    )


@pytest.mark.parametrize(("model", "error_type", "options"), ERRORS)
def test_api_errors_mark_the_span_and_reach_the_caller_unchanged(
    client: openai.OpenAI,
    last_trace: Callable[[], Trace],
    model: str,
    error_type: type[Exception],
    options: dict[str, Any],
) -> None:
    def call() -> Any:
        return client.chat.completions.create(model=model, messages=MESSAGES, **options)

    untraced = capture(call)
    with lanterna.openai.autolog():
        traced = capture(call)
    assert isinstance(traced, error_type)
    assert describe(traced) == describe(untraced)
    (span,) = last_trace().data.spans
    assert span.status.status_code == SpanStatusCode.ERROR
    assert span.status.description == f"{error_type.__name__}: {traced}"
    assert [e.name for e in span.events] == ["exception"]
    event = span.events[0].attributes
    assert event["exception.type"] == error_type.__name__
    assert event["exception.message"] == str(traced)
    assert "Traceback" in event["exception.stacktrace"]
    assert span.outputs is None
    assert last_trace().info.state.value == "ERROR"


@pytest.mark.usefixtures("autolog")
def test_the_parent_records_an_error_the_caller_lets_through(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    with pytest.raises(openai.RateLimitError), lanterna.start_span("agent step"):
        client.chat.completions.create(model="error-429", messages=MESSAGES)
    root, span = last_trace().data.spans
    for recorded in (root, span):
        assert recorded.status.status_code == SpanStatusCode.ERROR
        assert [e.name for e in recorded.events] == ["exception"]
        assert recorded.events[0].attributes["exception.type"] == "RateLimitError"

    # Handled inside the parent: only the LLM span failed.
    with lanterna.start_span("agent step"), contextlib.suppress(openai.InternalServerError):
        client.chat.completions.create(model="error-500", messages=MESSAGES)
    root, span = last_trace().data.spans
    assert root.status.status_code == SpanStatusCode.OK
    assert span.status.status_code == SpanStatusCode.ERROR


@pytest.mark.usefixtures("autolog")
def test_errors_on_every_endpoint_sync_and_async(
    client: openai.OpenAI, run_async: Callable[..., Any], last_trace: Callable[[], Trace]
) -> None:
    calls: list[Callable[[], Any]] = [
        lambda: client.completions.create(model="error-404", prompt="x"),
        lambda: client.embeddings.create(model="error-404", input="x"),
        lambda: client.chat.completions.create(model="error-404", messages=MESSAGES, stream=True),
    ]
    if HAS_RESPONSES:
        calls.append(lambda: client.responses.create(model="error-404", input="x"))
    for call in calls:
        with pytest.raises(openai.NotFoundError):
            call()
        (span,) = last_trace().data.spans
        assert span.status.status_code == SpanStatusCode.ERROR

    async def body(c: openai.AsyncOpenAI) -> Any:
        return await c.embeddings.create(model="error-422", input="x")

    with pytest.raises(openai.UnprocessableEntityError):
        run_async(body)
    (span,) = last_trace().data.spans
    assert span.name == "AsyncEmbeddings"
    assert span.events[0].attributes["exception.type"] == "UnprocessableEntityError"


# -- odd responses and failures of lanterna's own bookkeeping -------------------------------------


_IDS = frozenset({"id", "call_id", "item_id"})


def without_ids(value: Any) -> Any:
    """The fake server numbers its ids; everything else in its answers is reproducible."""
    if isinstance(value, dict):
        return {k: without_ids(v) for k, v in value.items() if k not in _IDS}
    if isinstance(value, list):
        return [without_ids(v) for v in value]
    return value


def seen(value: Any) -> Any:
    """A response (or every chunk of a stream) as the caller sees it."""
    if isinstance(value, openai.Stream):
        return [seen(chunk) for chunk in value]
    return (type(value).__name__, without_ids(value.model_dump(warnings=False)))


def everything_odd(client: openai.OpenAI) -> list[Any]:
    """Every endpoint with the fake server's odd-shaped answers."""
    odd = "odd-shape"
    answers = [
        seen(client.chat.completions.create(model=odd, messages=MESSAGES)),
        seen(
            client.chat.completions.create(
                model=odd, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
            )
        ),
        seen(client.completions.create(model=odd, prompt="x")),
        seen(client.completions.create(model=odd, prompt="x", stream=True)),
        seen(client.embeddings.create(model=odd, input="x")),
    ]
    if HAS_RESPONSES:
        answers.append(seen(client.responses.create(model=odd, input="x")))
        answers.append(seen(client.responses.create(model=odd, input="x", stream=True)))
    return answers


def test_odd_responses_reach_the_caller_as_without_tracing(
    client: openai.OpenAI, last_trace: Callable[[], Trace]
) -> None:
    untraced = everything_odd(client)
    errors_before = sum(_errors.internal_error_counts().values())
    with lanterna.start_span("odd"), lanterna.openai.autolog():
        traced = everything_odd(client)
    assert traced == untraced
    assert sum(_errors.internal_error_counts().values()) == errors_before
    root, *spans = last_trace().data.spans
    assert len(spans) == len(traced)
    assert all(s.status.status_code == SpanStatusCode.OK for s in spans)
    chat, chat_stream, legacy, legacy_stream, embeddings = spans[:5]
    assert chat.outputs["choices"][0]["message"]["content"] is None
    assert chat_stream.outputs["choices"][0]["message"]["content"] == "odd"
    assert "mlflow.chat.tokenUsage" not in legacy.attributes  # mistyped usage is left out
    assert legacy_stream.outputs == "odd"  # a streamed completion records its text
    assert embeddings.outputs["usage"] is None
    if not HAS_RESPONSES:
        return
    responses, responses_stream = spans[5:]
    assert responses.outputs["output"][0]["type"] == "lanterna_unknown"
    # No response.completed: rebuilt from the events that came.
    assert responses_stream.outputs["output"][0]["content"][0]["text"] == "Fake reply to: x"


@pytest.fixture
def lenient(monkeypatch: pytest.MonkeyPatch, lanterna_tracing: TracesRecorded) -> None:
    """lanterna's default outside tests: internal errors are logged, not raised (and these
    tests cause them on purpose)."""
    monkeypatch.setattr(_errors, "raise_internal_errors", False)
    lanterna_tracing.expect_losses()


def broken(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("bookkeeping bug")


@pytest.mark.usefixtures("autolog", "lenient")
@pytest.mark.parametrize("target", ["dump", "dump_json", "result_attributes", "call_attributes"])
def test_a_bookkeeping_failure_never_changes_what_the_caller_gets(
    client: openai.OpenAI,
    last_trace: Callable[[], Trace],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    target: str,
) -> None:
    def calls() -> list[Any]:
        return [
            *everything_odd(client),
            seen(client.chat.completions.create(model="m", messages=MESSAGES)),
            seen(client.chat.completions.create(model="m", messages=MESSAGES, stream=True)),
        ]

    expected = calls()
    monkeypatch.setattr(extract, target, broken)
    with caplog.at_level(logging.WARNING, logger="lanterna"):
        got = calls()
    assert got == expected
    assert "bookkeeping bug" in caplog.text
    if target != "call_attributes":  # the span could not even start then
        (span,) = last_trace().data.spans
        assert span.end_time_ns is not None


@pytest.mark.usefixtures("autolog", "lenient")
def test_silent_keeps_bookkeeping_failures_out_of_the_warnings(
    client: openai.OpenAI, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lanterna.openai.autolog(silent=True)
    monkeypatch.setattr(extract, "dump", broken)
    with caplog.at_level(logging.WARNING, logger="lanterna"):
        client.chat.completions.create(model="m", messages=MESSAGES)
    assert caplog.text == ""
