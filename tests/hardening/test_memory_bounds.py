"""Memory is bounded in bytes, not only in counts (issue 9)."""

from __future__ import annotations

from pathlib import Path

import lanterna
from lanterna.export.memory import InMemoryExporter, approximate_bytes
from lanterna.testing.pytest_plugin import TracesRecorded

from .conftest import run


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
