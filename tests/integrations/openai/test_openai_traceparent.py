"""Autologged OpenAI calls carry W3C ``traceparent`` naming their span (issue 14, propagation)."""

from __future__ import annotations

import openai

import lanterna
from lanterna.testing.openai_server import FakeOpenAIServer
from lanterna.testing.pytest_plugin import TracesRecorded
from lanterna.tracing.propagation import parse_traceparent


def test_the_request_carries_the_traceparent_of_the_call_span(
    autolog: None, client: openai.OpenAI, openai_server: FakeOpenAIServer,
    traces: TracesRecorded,
) -> None:
    with lanterna.start_span("agent"):
        client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    sent = openai_server.requests[-1]["headers"]["traceparent"]
    agent, call = traces.last().data.spans
    remote = parse_traceparent(sent)
    assert remote is not None and remote.sampled
    assert (remote.trace_id, remote.span_id) == (call.trace_id, call.span_id)
    assert call.parent_id == agent.span_id


def test_the_callers_headers_are_kept_and_never_changed(
    autolog: None, client: openai.OpenAI, openai_server: FakeOpenAIServer,
    traces: TracesRecorded,
) -> None:
    mine = {"x-team": "search"}
    client.embeddings.create(model="text-embedding-3-small", input="x", extra_headers=mine)
    assert mine == {"x-team": "search"}
    headers = openai_server.requests[-1]["headers"]
    assert headers["x-team"] == "search" and "traceparent" in headers
    own = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    client.embeddings.create(model="text-embedding-3-small", input="x",
                             extra_headers={"traceparent": own})
    assert openai_server.requests[-1]["headers"]["traceparent"] == own


def test_async_calls_carry_it_too(
    autolog: None, run_async: object, openai_server: FakeOpenAIServer, traces: TracesRecorded,
) -> None:
    async def body(client: openai.AsyncOpenAI) -> None:
        await client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    run_async(body)  # type: ignore[operator]
    call = traces.last().data.spans[0]
    sent = openai_server.requests[-1]["headers"]["traceparent"]
    assert sent == f"00-{call.trace_id[3:]}-{call.span_id}-01"
