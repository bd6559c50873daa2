"""Memory is bounded in bytes, not only in counts (issue 9)."""

from __future__ import annotations

from pathlib import Path

import lanterna
from lanterna.export.memory import InMemoryExporter, approximate_bytes
from lanterna.testing.pytest_plugin import TracesRecorded

from .conftest import read_back, run, slow_store


def test_the_trace_cache_keeps_a_byte_budget(traces: TracesRecorded) -> None:
    from lanterna.export import setup

    budget = 2_000_000
    cache = InMemoryExporter(max_bytes=budget)
    payload = "x" * 100_000  # 100 kB per trace: the budget holds about 20
    ids = []
    for i in range(60):
        with lanterna.start_span(name=f"big-{i}") as span:
            span.set_inputs(payload)
        ids.append(span.trace_id)
    lanterna.flush_trace_async_logging()
    for trace_id in ids:
        trace = setup.memory.get(trace_id)
        assert trace is not None
        batch = type("Batch", (), {"finished": [trace], "spans": trace.data.spans})()
        cache.export(batch)  # type: ignore[arg-type]
    kept = cache.traces()
    assert sum(approximate_bytes(s) for t in kept for s in t.data.spans) <= budget
    assert 10 <= len(kept) <= 20
    assert [t.info.trace_id for t in kept] == ids[-len(kept):]  # the newest are kept


def test_the_byte_budget_setting_releases_old_payloads_to_the_store(tmp_path: Path) -> None:
    code = """
import lanterna
from lanterna.export import setup
ids = []
for i in range(30):
    with lanterna.start_span(name="big") as span:
        span.set_outputs("y" * 200_000)
    ids.append(span.trace_id)
lanterna.flush_trace_async_logging()
print(len(setup.memory.traces()), all(lanterna.get_trace(t) is not None for t in ids))
"""
    done = run(code, tmp_path, f"sqlite:///{tmp_path / 'c.db'}",
               LANTERNA_TRACE_CACHE_BYTES="1000000")
    assert done.returncode == 0, done.stderr
    cached, all_found = done.stdout.split()
    assert int(cached) <= 5 and all_found == "True"  # the rest come back from the store


def test_a_huge_stream_records_a_bounded_number_of_events(traces: TracesRecorded) -> None:
    @lanterna.trace
    def stream(n: int):  # type: ignore[no-untyped-def]
        yield from range(n)

    assert sum(stream(5_000)) == sum(range(5_000))
    span = traces.last().data.spans[0]
    assert len(span.events) == 1_000
    assert span.attributes["lanterna.omittedChunkEvents"] == 4_000
    assert span.outputs == list(range(5_000))  # the output stays complete


SLOW_STORE = slow_store(0.02)


def test_a_backlog_past_the_memory_queue_is_kept_through_exit(tmp_path: Path, url: str) -> None:
    """With a slow store, traces of one span past LANTERNA_EXPORT_MEMORY_QUEUE wait in the spool
    file; the exit flush stores them all, and the file does not outlive the process."""
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    code = SLOW_STORE + """
import lanterna
from lanterna.export import setup
spilled = 0
for i in range(3000):
    with lanterna.start_span("single") as span:
        span.set_inputs({"i": i})
    if i % 500 == 0:
        with lanterna.start_span("pair"), lanterna.start_span("child"):
            pass
    spilled = max(spilled, setup.pipeline()._spool.count)
print(spilled, len(setup.pipeline()._queue))
"""
    done = run(code, tmp_path, url, LANTERNA_EXPORT_MEMORY_QUEUE="20", TMPDIR=str(spool_dir))
    assert done.returncode == 0, done.stderr
    spilled, in_memory = map(int, done.stdout.split())
    assert spilled > 1000 and in_memory <= 20 + 2 * 6
    found = read_back(tmp_path, url)
    assert sorted(t["spans"] for t in found if t["spans"] != ["single"]) == [
        ["child", "pair"]] * 6
    assert sum(1 for t in found if t["spans"] == ["single"]) == 3000
    assert list(spool_dir.iterdir()) == []


def test_a_forked_child_leaves_the_parents_spool_alone(tmp_path: Path, url: str) -> None:
    code = SLOW_STORE + """
import os
import lanterna
from lanterna.export import setup
for i in range(1500):
    with lanterna.start_span("parent-before"):
        pass
waiting = setup.pipeline()._spool.count
pid = os.fork()
if pid == 0:
    for i in range(700):
        with lanterna.start_span("child"):
            pass
    lanterna.flush_trace_async_logging()
    os._exit(0)
for i in range(300):
    with lanterna.start_span("parent-after"):
        pass
os.waitpid(pid, 0)
print(waiting)
"""
    done = run(code, tmp_path, url, LANTERNA_EXPORT_MEMORY_QUEUE="50")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0  # the parent had traces in its spool when it forked
    names = sorted(t["spans"][0] for t in read_back(tmp_path, url))
    assert names.count("parent-before") == 1500
    assert names.count("parent-after") == 300
    assert names.count("child") == 700
