"""Ids follow SPEC §2 and survive random.seed() in user code (issue 3, acceptance 6)."""

from __future__ import annotations

import random
import re
import time

import lanterna
from lanterna.testing.pytest_plugin import TracesRecorded


def test_id_formats(traces: TracesRecorded) -> None:
    with lanterna.start_span("root") as root, lanterna.start_span("child") as child:
        pass
    assert re.fullmatch(r"tr-[0-9a-f]{32}", root.trace_id)
    assert re.fullmatch(r"[0-9a-f]{16}", root.span_id)
    assert child.parent_id == root.span_id and child.trace_id == root.trace_id
    assert child.request_id == child.trace_id


def test_ids_stay_unique_after_user_seeds_random(traces: TracesRecorded) -> None:
    ids = set()
    for _ in range(50):
        random.seed(0)
        with lanterna.start_span("s") as span:
            pass
        ids.add((span.trace_id, span.span_id))
    assert len(ids) == 50
    assert len({t for t, _ in ids}) == 50


def test_trace_ids_grow_with_time_and_end_random(traces: TracesRecorded) -> None:
    """Time first (the store's indexes grow at their right edge), random after."""
    before_ms = time.time_ns() // 1_000_000
    found = []
    for _ in range(200):
        with lanterna.start_span("s") as span:
            pass
        found.append(span.trace_id)
    after_ms = time.time_ns() // 1_000_000
    stamps = [int(trace_id[3:15], 16) for trace_id in found]
    assert all(before_ms <= stamp <= after_ms for stamp in stamps)
    assert stamps == sorted(stamps)
    assert len({trace_id[15:] for trace_id in found}) == 200  # 80 random bits each


def test_a_forked_child_draws_ids_of_its_own(traces: TracesRecorded) -> None:
    """Ids come from pools drawn ahead; a forked child must not hand out its parent's next
    ones."""
    import os

    with lanterna.start_span("before-fork"):
        pass  # the pools hold ids drawn by the parent now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, then leave at once
        try:
            found = []
            for _ in range(50):
                with lanterna.start_span("in-child") as span:
                    pass
                found.append(f"{span.trace_id} {span.span_id}")
            os.write(write, "\n".join(found).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split("\n")
    os.waitpid(pid, 0)
    ours = []
    for _ in range(50):
        with lanterna.start_span("in-parent") as span:
            pass
        ours.append((span.trace_id, span.span_id))
    child_traces = {line.split()[0][15:] for line in theirs}
    child_spans = {line.split()[1] for line in theirs}
    assert len(child_spans) == 50
    assert not child_traces & {trace_id[15:] for trace_id, _ in ours}
    assert not child_spans & {span_id for _, span_id in ours}
