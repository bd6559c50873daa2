"""Fixtures for OpenAI auto-tracing: the fake server, real ``openai`` clients, autolog."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import openai
import pytest

import lanterna
from lanterna.entities import Span, Trace
from lanterna.testing.openai_server import FakeOpenAIServer


@pytest.fixture(scope="session")
def openai_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture
def autolog() -> Iterator[None]:
    handle = lanterna.openai.autolog()
    yield
    handle.undo()


@pytest.fixture
def client(openai_server: FakeOpenAIServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=openai_server.base_url, api_key="test", max_retries=0) as c:
        yield c


AsyncBody = Callable[[openai.AsyncOpenAI], Awaitable[Any]]


@pytest.fixture
def run_async(openai_server: FakeOpenAIServer) -> Callable[[AsyncBody], Any]:
    """``run_async(body)`` awaits ``body(async_client)`` on a fresh event loop."""

    def run(body: AsyncBody) -> Any:
        async def main() -> Any:
            async with openai.AsyncOpenAI(
                base_url=openai_server.base_url, api_key="test", max_retries=0
            ) as c:
                return await body(c)

        return asyncio.run(main())

    return run


def _last_trace() -> Trace:
    trace_id = lanterna.get_last_active_trace_id()
    assert trace_id is not None, "no trace was recorded"
    trace = lanterna.get_trace(trace_id)
    assert trace is not None
    return trace


@pytest.fixture
def last_trace() -> Callable[[], Trace]:
    """``last_trace()``: the last finished trace, read back through ``lanterna.get_trace``."""
    return _last_trace


_RESERVED = ("mlflow.traceRequestId", "mlflow.spanType", "mlflow.spanInputs", "mlflow.spanOutputs")


def _own_attributes(span: Span) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k not in _RESERVED}


@pytest.fixture
def own_attributes() -> Callable[[Span], dict[str, Any]]:
    """``own_attributes(span)``: its attributes without the reserved ``mlflow.span*`` keys."""
    return _own_attributes
