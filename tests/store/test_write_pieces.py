"""Big batches are written in pieces, the next encoded on a helper thread while the current one
is written (SQLite): every span is stored once, sizes are those of a write in one piece, and a
program that exits with thousands of spans still queued stores them all."""

from __future__ import annotations

from pathlib import Path

import pytest
from trace_batches import batch_of, traces_of

from conftest import run_python
from lanterna.entities.trace_info import TraceMetadataKey
from lanterna.store.sql import writes
from lanterna.store.sql.store import SqlStore
from lanterna.testing.databases import database

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_batch_of_many_pieces_is_stored_whole_with_exact_sizes(
    engine: str, tmp_path: Path
) -> None:
    traces = traces_of(2_500, lambda i: f'{{"i": {i}, "text": "{"é" * (i % 7)}"}}')
    with database(engine, tmp_path) as uri:
        store = SqlStore(uri)
        try:
            store.write_batch(batch_of(traces))
            for trace in traces[:: 97]:
                stored = store.get_trace(trace.info.trace_id)
                assert stored is not None
                assert [s.span_id for s in stored.data.spans] == [
                    s.span_id for s in trace.data.spans]
                assert [s.inputs for s in stored.data.spans] == [
                    s.inputs for s in trace.data.spans]
                size = sum(writes.span_size(s, engine == "postgresql") for s in trace.data.spans)
                assert stored.info.trace_metadata[TraceMetadataKey.SIZE_BYTES] == str(size)
            assert store.count_traces() == 2_500
        finally:
            store.dispose()


@pytest.mark.parametrize("engine", ENGINES)
def test_spans_still_queued_at_exit_are_all_stored(engine: str, tmp_path: Path) -> None:
    with database(engine, tmp_path) as uri:
        code = (
            "import lanterna\n"
            f"lanterna.set_tracking_uri({uri!r})\n"
            "for i in range(3000):\n"
            "    with lanterna.start_span('agent') as root:\n"
            "        for j in range(9):\n"
            "            with lanterna.start_span(f'step-{j}') as step:\n"
            "                step.set_inputs({'i': i, 'j': j})\n"
        )
        done = run_python(code, tmp_path)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        store = SqlStore(uri)
        try:
            assert store.count_traces() == 3000
            traces, _ = store.search_traces(["0"], max_results=50)
            assert all(len(t.data.spans) == 10 for t in traces)
        finally:
            store.dispose()
