"""@trace on every kind of callable (issue 3, acceptance 2)."""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import lanterna
from lanterna.entities import SpanType
from lanterna.exceptions import MlflowException
from lanterna.testing.pytest_plugin import TracesRecorded


def test_sync_function_inputs_outputs_and_metadata(traces: TracesRecorded) -> None:
    @lanterna.trace
    def add(a: int, b: int = 10, *, scale: int = 1) -> int:
        """Adds."""
        return (a + b) * scale

    assert add(1) == 11
    span = traces.last().data.spans[0]
    assert span.name == "add"
    assert span.inputs == {"a": 1, "b": 10, "scale": 1}
    assert span.outputs == 11
    assert span.span_type == "UNKNOWN"
    assert span.get_attribute("mlflow.spanFunctionName") == "add"
    assert add.__name__ == "add" and add.__doc__ == "Adds."
    assert list(inspect.signature(add).parameters) == ["a", "b", "scale"]


def test_name_type_attributes_and_wrapper_form(traces: TracesRecorded) -> None:
    def plain(x: Any) -> Any:
        return x

    traced = lanterna.trace(plain, name="renamed", span_type=SpanType.TOOL,
                            attributes={"team": "search", "version": 2})
    traced([1, 2])
    span = traces.last().data.spans[0]
    assert (span.name, span.span_type) == ("renamed", "TOOL")
    assert span.attributes["team"] == "search" and span.attributes["version"] == 2
    lanterna.trace(name="called")(plain)(0)
    assert traces.last().data.spans[0].name == "called"


def test_varargs_and_kwargs_are_bound(traces: TracesRecorded) -> None:
    @lanterna.trace
    def f(a: int, /, *rest: int, flag: bool = False, **extra: Any) -> int:
        return a

    f(1, 2, 3, k="v")
    assert traces.last().data.spans[0].inputs == {
        "a": 1, "rest": [2, 3], "flag": False, "extra": {"k": "v"}}


class Service:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @lanterna.trace
    def greet(self, name: str) -> str:
        return self.prefix + name

    @lanterna.trace
    async def agreet(self, name: str) -> str:
        return self.prefix + name

    @classmethod
    @lanterna.trace
    def make_inner(cls, prefix: str) -> Service:
        return cls(prefix)

    @lanterna.trace
    @classmethod
    def make_outer(cls, prefix: str) -> Service:
        return cls(prefix)

    @staticmethod
    @lanterna.trace
    def shout_inner(text: str) -> str:
        return text.upper()

    @lanterna.trace
    @staticmethod
    def shout_outer(text: str) -> str:
        return text.upper()


def test_methods_drop_self_and_cls(traces: TracesRecorded) -> None:
    service = Service("hi ")
    assert service.greet("ann") == "hi ann"
    assert traces.last().data.spans[0].inputs == {"name": "ann"}
    assert asyncio.run(service.agreet("bo")) == "hi bo"
    assert traces.last().data.spans[0].inputs == {"name": "bo"}
    for factory in (Service.make_inner, Service.make_outer):
        assert factory("x").prefix == "x"
        span = traces.last().data.spans[0]
        assert span.inputs == {"prefix": "x"}
    for shout in (Service.shout_inner, Service.shout_outer, service.shout_outer):
        assert shout("a") == "A"
        assert traces.last().data.spans[0].inputs == {"text": "a"}
        assert traces.last().data.spans[0].outputs == "A"


def test_async_function(traces: TracesRecorded) -> None:
    @lanterna.trace(span_type=SpanType.LLM)
    async def ask(q: str) -> str:
        await asyncio.sleep(0)
        return q[::-1]

    assert asyncio.run(ask("abc")) == "cba"
    span = traces.last().data.spans[0]
    assert (span.outputs, span.span_type) == ("cba", "LLM")


def test_set_outputs_inside_wins_over_return_value(traces: TracesRecorded) -> None:
    @lanterna.trace
    def f() -> int:
        span = lanterna.get_current_active_span()
        assert span is not None
        span.set_outputs({"custom": True})
        return 1

    f()
    assert traces.last().data.spans[0].outputs == {"custom": True}


def test_generator_span_covers_iteration_with_one_event_per_item(
    traces: TracesRecorded,
) -> None:
    @lanterna.trace
    def count(n: int) -> Iterator[int]:
        for i in range(n):
            with lanterna.start_span(f"step{i}"):
                pass
            yield i

    gen = count(3)
    assert lanterna.get_current_active_span() is None
    assert next(gen) == 0
    # between items the generator's span is not the caller's current span
    assert lanterna.get_current_active_span() is None
    assert list(gen) == [1, 2]
    trace = traces.last()
    root = trace.data.spans[0]
    assert root.outputs == [0, 1, 2]
    assert [e.name for e in root.events] == [f"mlflow.chunk.item.{i}" for i in range(3)]
    assert [e.attributes["mlflow.chunk.value"] for e in root.events] == [0, 1, 2]
    children = [s for s in trace.data.spans if s.parent_id == root.span_id]
    assert [s.name for s in children] == ["step0", "step1", "step2"]


def test_generator_output_reducer_and_return_value(traces: TracesRecorded) -> None:
    @lanterna.trace(output_reducer=lambda chunks: "".join(chunks))
    def words() -> Iterator[str]:
        yield "a"
        yield "b"

    assert list(words()) == ["a", "b"]
    assert traces.last().data.spans[0].outputs == "ab"


def test_output_reducer_on_plain_function_is_refused() -> None:
    with pytest.raises(MlflowException, match="generator"):
        lanterna.trace(output_reducer=list)(lambda: 1)


@pytest.mark.parametrize("stop", ["break", "close", "gc"])
def test_generator_stopped_early_still_ends_its_span(traces: TracesRecorded, stop: str) -> None:
    @lanterna.trace
    def forever() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    gen = forever()
    if stop == "break":
        for item in gen:
            if item == 2:
                break
        del gen
    elif stop == "close":
        next(gen), next(gen), next(gen)
        gen.close()
    else:
        next(gen), next(gen), next(gen)
        del gen
        gc.collect()
    span = traces.last().data.spans[0]
    assert span.outputs == [0, 1, 2]
    assert span.status.status_code == "OK"
    assert span.end_time_ns is not None


def test_generator_error_mid_stream(traces: TracesRecorded) -> None:
    @lanterna.trace
    def broken() -> Iterator[int]:
        yield 1
        raise RuntimeError("stream broke")

    with pytest.raises(RuntimeError, match="stream broke"):
        list(broken())
    span = traces.last().data.spans[0]
    assert span.status.status_code == "ERROR"
    assert [e.name for e in span.events] == ["mlflow.chunk.item.0", "exception"]
    assert traces.last().info.state == "ERROR"


def test_generator_send_and_throw_pass_through(traces: TracesRecorded) -> None:
    @lanterna.trace
    def echo() -> Iterator[Any]:
        received = None
        while True:
            try:
                received = yield received
            except ValueError:
                received = "recovered"

    gen = echo()
    assert next(gen) is None
    assert gen.send("x") == "x"
    assert gen.throw(ValueError()) == "recovered"
    gen.close()
    assert traces.last().data.spans[0].outputs == [None, "x", "recovered"]


def test_async_generator_full_and_early_stop(traces: TracesRecorded) -> None:
    @lanterna.trace
    async def stream(n: int) -> AsyncIterator[int]:
        for i in range(n):
            await asyncio.sleep(0)
            async with asyncio.timeout(5):
                with lanterna.start_span("inner"):
                    pass
            yield i

    async def consume_all() -> list[int]:
        return [i async for i in stream(3)]

    async def consume_two() -> list[int]:
        out = []
        agen = stream(10)
        async for i in agen:
            out.append(i)
            if i == 1:
                break
        await agen.aclose()
        return out

    assert asyncio.run(consume_all()) == [0, 1, 2]
    trace = traces.last()
    root = trace.data.spans[0]
    assert root.outputs == [0, 1, 2]
    assert sum(1 for s in trace.data.spans if s.parent_id == root.span_id) == 3
    assert asyncio.run(consume_two()) == [0, 1]
    assert traces.last().data.spans[0].outputs == [0, 1]


def test_async_generator_abandoned_is_ended_by_event_loop(traces: TracesRecorded) -> None:
    @lanterna.trace
    async def stream() -> AsyncIterator[int]:
        for i in range(100):
            yield i

    async def main() -> None:
        async for i in stream():
            if i == 1:
                break

    asyncio.run(main())  # asyncio.run finalizes abandoned async generators
    span = traces.last().data.spans[0]
    assert span.outputs == [0, 1]
    assert span.end_time_ns is not None
