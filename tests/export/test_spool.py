"""The export queue's overflow file (issue 15: memory stays flat while the store falls behind,
and nothing is lost)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import lanterna
from lanterna.export import setup, spool
from lanterna.export.pipeline import Pipeline
from lanterna.export.spool import Spool
from lanterna.testing.pytest_plugin import TracesRecorded


def _packed(i: int, size: int = 10) -> tuple[Any, ...]:
    return (b"v" * size, f"op-{i}", "UNKNOWN", "OK", "", "0", None, None, None, None, None)


def _put(found: Spool, item: tuple[Any, ...]) -> None:
    if found.put(item):
        found.seal()


def _drain(found: Spool, per_take: int = 7) -> list[tuple[Any, ...]]:
    items: list[tuple[Any, ...]] = []
    while found.count:
        taken, count = found.take(per_take)
        decoded = found.decode(taken)
        assert len(decoded) == count
        items += decoded
    return items


def test_records_come_back_in_order_from_the_file_and_from_the_buffer(tmp_path: Path) -> None:
    found = Spool(str(tmp_path))
    items = [_packed(i, size=i % 3000) for i in range(2_000)]  # about 3 MB: several writes
    for item in items[:1_500]:
        _put(found, item)
    first = found.decode(found.take(100)[0])
    for item in items[1_500:]:  # written while the worker reads
        _put(found, item)
    assert first + _drain(found) == items
    assert found.count == 0
    assert os.listdir(tmp_path) == []  # the file is unlinked from the start


def test_a_record_bigger_than_one_read_comes_back_whole(tmp_path: Path) -> None:
    found = Spool(str(tmp_path))
    items = [_packed(0), _packed(1, size=spool.READ_BYTES * 2), _packed(2)]
    for item in items:
        found.put(item)
        found.seal()  # one record each
    assert found._fd is not None  # the big record went to the file
    assert _drain(found, per_take=1) == items


def test_the_disk_space_is_given_back_once_read(tmp_path: Path) -> None:
    found = Spool(str(tmp_path))
    for i in range(1_000):
        _put(found, _packed(i, size=1_000))
    assert found._fd is not None and os.fstat(found._fd).st_size > 0
    _drain(found, per_take=1_000)
    assert os.fstat(found._fd).st_size == 0
    found.close()


def test_without_a_writable_directory_records_wait_in_memory(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    found = Spool(str(tmp_path / "missing"))
    items = [_packed(i, size=1_000) for i in range(1_000)]  # 1 MB: the file would be needed
    for item in items:
        _put(found, item)
    assert "could not be written" in caplog.text
    assert _drain(found, per_take=333) == items


def _spilling_pipeline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       memory_queue: int) -> Pipeline:
    """The process's pipeline writing to a SQLite file, spilling past ``memory_queue`` spans
    into a spool in ``tmp_path`` (chunks of 16 traces, so small runs fill several)."""
    lanterna.set_tracking_uri(f"sqlite:///{tmp_path / 'spool.db'}")
    monkeypatch.setattr(spool, "CHUNK", 16)
    pipeline = setup.pipeline()
    pipeline.memory_queue = memory_queue
    pipeline._spool = Spool(str(tmp_path))
    return pipeline


def test_single_span_traces_past_the_memory_queue_wait_on_disk_and_all_are_stored(
    traces: TracesRecorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = _spilling_pipeline(tmp_path, monkeypatch, memory_queue=50)
    spilled = 0
    ids = []
    for i in range(3_000):
        with lanterna.start_span(f"single-{i}") as span:
            span.set_inputs({"i": i, "text": "olá"})
            span.set_outputs([i, None, 2.5])
        ids.append(span.trace_id)
        if i % 300 == 0:  # a trace of several spans now and then, in line in memory
            with lanterna.start_span("parent") as parent, lanterna.start_span("child"):
                pass
            ids.append(parent.trace_id)
        spilled = max(spilled, pipeline._spool.count)
        assert len(pipeline._queue) <= 50 + 2 * 10  # bigger traces' spans may pass the bound
    assert spilled > 0
    assert lanterna.flush_trace_async_logging() is None
    stats = lanterna.tracing.export_stats()
    assert stats["spans_dropped"] == 0 and stats["queued"] == 0
    stored = lanterna.search_traces(return_type="list", max_results=10_000)
    assert sorted(t.info.trace_id for t in stored) == sorted(ids)
    late = next(t for t in stored if t.info.tags.get("mlflow.traceName") == "single-2999")
    assert late.data.spans[0].inputs == {"i": 2999, "text": "olá"}
    assert late.data.spans[0].outputs == [2999, None, 2.5]
    assert all(len(t.data.spans) == 2 for t in stored if t.data.spans[0].name in ("parent",
                                                                                    "child"))


def test_threads_spilling_at_once_lose_nothing_and_the_counters_add_up(
    traces: TracesRecorded, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    _spilling_pipeline(tmp_path, monkeypatch, memory_queue=30)

    def record(worker: int) -> None:
        for i in range(1_000):
            with lanterna.start_span(f"w{worker}-{i}"):
                pass

    workers = [threading.Thread(target=record, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    lanterna.flush_trace_async_logging()
    counters = lanterna.tracing.export_stats()
    assert counters["queued"] == 0 and counters["in_flight"] == 0
    assert counters["spans_dropped"] == 0
    names = {t.data.spans[0].name
             for t in lanterna.search_traces(return_type="list", max_results=10_000)}
    assert names == {f"w{n}-{i}" for n in range(4) for i in range(1_000)}
