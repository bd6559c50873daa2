"""Parent/child links across await, gather, create_task, and threads (issue 3, acceptance 3)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import lanterna
from lanterna.entities import Trace
from lanterna.testing.pytest_plugin import TracesRecorded


def tree(trace: Trace) -> dict[str, str | None]:
    """span name -> parent span name"""
    names = {s.span_id: s.name for s in trace.data.spans}
    return {s.name: names.get(s.parent_id) if s.parent_id else None for s in trace.data.spans}


@lanterna.trace
async def leaf(name: str) -> str:
    await asyncio.sleep(0.001)
    with lanterna.start_span(f"inner-{name}"):
        await asyncio.sleep(0)
    return name


def test_await_gather_and_create_task(traces: TracesRecorded) -> None:
    @lanterna.trace
    async def root() -> list[str]:
        first = await leaf("a")
        both = await asyncio.gather(leaf("b"), leaf("c"))
        task = asyncio.create_task(leaf("d"))
        return [first, *both, await task]

    assert asyncio.run(root()) == ["a", "b", "c", "d"]
    trace = traces.last()
    assert len(traces.all()) == 1
    parents = tree(trace)
    assert parents["root"] is None
    assert sum(1 for s in trace.data.spans if s.name == "leaf") == 4
    for letter in "abcd":
        assert parents[f"inner-{letter}"] == "leaf"
    root_id = trace.data.spans[0].span_id
    assert all(s.parent_id == root_id for s in trace.data.spans if s.name == "leaf")


def test_thread_pool_children_join_the_submitting_span(traces: TracesRecorded) -> None:
    @lanterna.trace
    def work(i: int) -> int:
        return i * 2

    with lanterna.start_span("batch") as batch, ThreadPoolExecutor(4) as pool:
        assert list(pool.map(work, range(6))) == [0, 2, 4, 6, 8, 10]
        assert pool.submit(work, 10).result() == 20
    trace = traces.last()
    assert len(traces.all()) == 1
    workers = [s for s in trace.data.spans if s.name == "work"]
    assert len(workers) == 7
    assert all(s.parent_id == batch.span_id for s in workers)


def test_thread_pool_propagation_can_be_turned_off(traces: TracesRecorded) -> None:
    @lanterna.trace
    def work() -> int:
        return 1

    with (
        lanterna.tracing.configure(propagate_to_threads=False),
        lanterna.start_span("batch"),
        ThreadPoolExecutor(2) as pool,
    ):
        pool.submit(work).result()
    assert sorted(len(t.data.spans) for t in traces.all()) == [1, 1]


def test_run_in_executor_and_to_thread_nest(traces: TracesRecorded) -> None:
    @lanterna.trace
    def blocking() -> str:
        return "done"

    @lanterna.trace
    async def root() -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, blocking)
        await asyncio.to_thread(blocking)

    asyncio.run(root())
    trace = traces.last()
    assert [tree(trace)[s.name] for s in trace.data.spans if s.name == "blocking"] == [
        "root", "root"]


def test_plain_threads_start_their_own_traces(traces: TracesRecorded) -> None:
    @lanterna.trace
    def job(i: int) -> int:
        return i

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(traces.all()) == 4


def test_last_active_trace_id_per_thread(traces: TracesRecorded) -> None:
    seen: dict[int, tuple[str | None, str]] = {}
    barrier = threading.Barrier(8)

    def run(i: int) -> None:
        with lanterna.start_span(f"t{i}") as span:
            pass
        barrier.wait()
        seen[i] = (lanterna.get_last_active_trace_id(thread_local=True), span.trace_id)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(mine == expected for mine, expected in seen.values())
    assert len({expected for _, expected in seen.values()}) == 8
    assert lanterna.get_last_active_trace_id() in {e for _, e in seen.values()}
    assert lanterna.get_last_active_trace_id(thread_local=True) is None


def test_start_span_no_context_and_active_ids(traces: TracesRecorded) -> None:
    assert lanterna.get_active_trace_id() is None
    with lanterna.start_span("outer") as outer:
        assert lanterna.get_active_trace_id() == outer.trace_id
        child = lanterna.start_span_no_context("manual", inputs={"q": 1})
        assert lanterna.get_current_active_span() is outer
        child.end(outputs={"a": 2})
        detached = lanterna.start_span_no_context("explicit", parent_span=outer)
        detached.end()
    spans = {s.name: s for s in traces.last().data.spans}
    assert spans["manual"].parent_id == outer.span_id
    assert spans["manual"].inputs == {"q": 1} and spans["manual"].outputs == {"a": 2}
    assert spans["explicit"].parent_id == outer.span_id
    root = lanterna.start_span_no_context("alone", tags={"k": "v"})
    root.end()
    assert traces.last().info.tags["k"] == "v"
