"""Honest counters, outages that are outages, and context that stays correct (issue 9)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import lanterna
from lanterna.testing.pytest_plugin import TracesRecorded

from .conftest import run

COUNTED = ("spans_exported", "queued", "in_flight", "spans_dropped", "spans_rejected")


def accounted() -> int:
    stats = lanterna.tracing.export_stats()
    return sum(stats[name] for name in COUNTED)


def test_counters_account_for_every_ended_span_at_every_moment(
    use_store: str, traces: TracesRecorded
) -> None:
    base = accounted()
    ended = 0
    seen: list[tuple[int, int]] = []
    stop = threading.Event()

    def watch() -> None:  # reads the counters while spans end and batches are written
        while not stop.is_set():
            before = ended
            total = accounted() - base
            after = ended
            seen.append((total, before))
            assert before <= total <= after + 1, (before, total, after)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(3000):
            with lanterna.start_span(name="step") as span:
                span.set_inputs(i)
            ended += 1
    finally:
        stop.set()
        watcher.join()
    lanterna.flush_trace_async_logging()
    stats = lanterna.tracing.export_stats()
    assert accounted() - base == 3000
    assert stats["queued"] == 0 and stats["in_flight"] == 0
    assert len(seen) > 10


def test_a_refused_span_is_never_counted_twice(use_store: str, traces: TracesRecorded) -> None:
    base = lanterna.tracing.export_stats()
    for value in (float("nan"), "\ud800", 10**5000, "\x00"):
        with lanterna.start_span(name="odd") as span:
            span.set_inputs(value)
    lanterna.flush_trace_async_logging()
    stats = lanterna.tracing.export_stats()
    assert stats["spans_exported"] - base["spans_exported"] == 4
    assert stats["spans_rejected"] == base["spans_rejected"]


OUTAGE = """
import json, os, sys, lanterna
{prepare}
with lanterna.start_span(name="during-outage"):
    pass
print(json.dumps({{"flushed": lanterna.flush_trace_async_logging() is None,
                   **lanterna.tracing.export_stats()}}), flush=True)
"""


def test_a_store_that_is_not_a_database_is_an_outage(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("this is not a SQLite database\n" * 100)
    done = run(OUTAGE.format(prepare=""), tmp_path, f"sqlite:///{bogus}")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["spans_rejected"] == 0 and stats["spans_exported"] == 0
    assert stats["export_failures"] >= 1
    assert stats["queued"] + stats["in_flight"] == 1  # waiting for the store to come back
    assert done.stderr.count("could not export a batch") == 1  # warned once
    assert "spans before exit" in done.stderr  # and counted as dropped at exit, said so


def test_a_deleted_sqlite_file_is_an_outage_and_is_created_again(tmp_path: Path) -> None:
    database = tmp_path / "gone.db"
    prepare = f"""
with lanterna.start_span(name="before"):
    pass
lanterna.flush_trace_async_logging()
os.remove({str(database)!r})
"""
    done = run(OUTAGE.format(prepare=prepare), tmp_path, f"sqlite:///{database}")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["export_failures"] >= 1 and stats["spans_rejected"] == 0
    assert "was deleted" in done.stderr
    assert database.exists()  # written again: the span after the deletion is in it
    again = run("import lanterna; print([t.data.spans[0].name for t in "
                "lanterna.search_traces(return_type='list')])", tmp_path, f"sqlite:///{database}")
    assert "during-outage" in again.stdout


def test_out_of_order_exits_never_leave_an_ended_span_current(traces: TracesRecorded) -> None:
    outer = lanterna.start_span(name="outer")
    inner = lanterna.start_span(name="inner")
    a = outer.__enter__()
    b = inner.__enter__()
    outer.__exit__(None, None, None)  # the outer block ends first
    assert lanterna.get_current_active_span() is None or (
        not lanterna.get_current_active_span().is_ended  # type: ignore[union-attr]
    )
    inner.__exit__(None, None, None)
    current = lanterna.get_current_active_span()
    assert current is None, current  # not the ended outer span
    with lanterna.start_span(name="next") as span:
        assert span.parent_id is None  # a new trace, not a child of an ended span
    assert a.is_ended and b.is_ended


def test_get_trace_right_after_the_root_ends_has_every_child(traces: TracesRecorded) -> None:
    root = lanterna.start_span_no_context("root")
    child = lanterna.start_span_no_context("late-child", parent_span=root)
    root.end()
    child.end()  # ends after its root, lands in the same export batch
    trace = lanterna.get_trace(root.trace_id)
    assert trace is not None
    assert sorted(s.name for s in trace.data.spans) == ["late-child", "root"]


def test_a_trace_open_across_set_tracking_uri_is_stored_whole_in_one_store(
    tmp_path: Path, traces: TracesRecorded
) -> None:
    first, second = f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'second.db'}"
    lanterna.set_tracking_uri(first)
    try:
        with lanterna.start_span(name="root") as root:
            with lanterna.start_span(name="before-switch"):
                pass
            lanterna.set_tracking_uri(second)
            with lanterna.start_span(name="after-switch"):
                pass
        with lanterna.start_span(name="new-trace"):
            pass
        lanterna.flush_trace_async_logging()
    finally:
        lanterna.set_tracking_uri(None)
    listing = "import lanterna; print(sorted(len(t.data.spans) for t in " \
              "lanterna.search_traces(return_type='list')))"
    assert run(listing, tmp_path, first).stdout.strip() == "[3]"
    assert run(listing, tmp_path, second).stdout.strip() == "[1]"
    assert root.trace_id
