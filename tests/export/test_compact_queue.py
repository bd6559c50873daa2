"""Single-span traces wait for export as tuples of atoms (issue 15): a backlog costs the cyclic
garbage collector nothing, and every value reads back exactly as it was set."""

from __future__ import annotations

import gc
import math
import threading
from typing import Any

import lanterna
from lanterna.export.memory import InMemoryExporter

AWKWARD: list[Any] = [
    {"messages": [{"role": "user", "content": "olá 🎉"}], "k": [1, [2, [3]]], "empty": []},
    [1, 2.5, True, None, "x", {"nested": {"deeper": ["a"]}}],
    2**100,
    -0.0,
    "",
    {"not a number": float("nan"), "inf": float("inf")},
    "lone \ud800 surrogate",  # marshal cannot write it: the live path takes it
    {"tuple": (1, 2), "set-like": [3]},
]


def test_values_tags_and_metadata_read_back_exactly() -> None:
    ids, expected = [], []
    for value in AWKWARD:
        with lanterna.start_span("op") as span:
            span.set_inputs(value)
            span.set_outputs({"echo": value})
            span.set_attributes({"a": value, "n": 1})
            lanterna.update_current_trace(tags={"team": "search"}, metadata={"m": "v"})
            expected.append((span.inputs, span.outputs, span.get_attribute("a")))
        ids.append(span.trace_id)
    lanterna.flush_trace_async_logging()
    for trace_id, (inputs, outputs, attribute) in zip(ids, expected, strict=True):
        trace = lanterna.get_trace(trace_id)
        assert trace is not None
        (span,) = trace.data.spans
        assert _same(span.inputs, inputs) and _same(span.outputs, outputs)
        assert _same(span.get_attribute("a"), attribute)
        assert span.get_attribute("n") == 1
        assert trace.info.tags["team"] == "search"
        assert trace.info.trace_metadata["m"] == "v"


def _same(left: Any, right: Any) -> bool:
    """Equality that also holds for NaN and tells -0.0 and lists from the alternatives."""
    if isinstance(left, float) and isinstance(right, float):
        return (math.isnan(left) and math.isnan(right)) or (
            left == right and math.copysign(1, left) == math.copysign(1, right))
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return list(left) == list(right) and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def test_a_backlog_of_single_span_traces_is_invisible_to_the_collector(monkeypatch: Any) -> None:
    """While the export thread is held up, 2,000 finished traces (values holding lists and
    nested dicts) add almost nothing the collector tracks: full collections stay as cheap as
    before the backlog, on every thread."""
    entered, release = threading.Event(), threading.Event()

    def held_up(self: InMemoryExporter, batch: Any) -> None:
        entered.set()
        release.wait(30)

    monkeypatch.setattr(InMemoryExporter, "export", held_up)
    try:
        with lanterna.start_span("first"):
            pass
        assert entered.wait(10)
        gc.collect()
        before = len(gc.get_objects())
        for i in range(2000):
            with lanterna.start_span("op") as span:
                span.set_inputs({"question": f"q{i}", "history": [{"role": "user"}]})
                span.set_attributes({"model": "m", "stop": ["\n"]})
                span.set_outputs({"answer": "a", "sources": ["doc-1", "doc-2"]})
        gc.collect()
        gc.collect()
        grown = len(gc.get_objects()) - before
    finally:
        release.set()
    lanterna.flush_trace_async_logging()
    assert grown < 200, f"{grown} objects tracked for 2,000 queued traces"


def _held_up_export(monkeypatch: Any) -> tuple[threading.Event, threading.Event]:
    """Holds the export thread inside its first batch until ``release`` is set."""
    entered, release = threading.Event(), threading.Event()

    def held_up(self: InMemoryExporter, batch: Any) -> None:
        entered.set()
        release.wait(30)

    monkeypatch.setattr(InMemoryExporter, "export", held_up)
    return entered, release


def _agent_trace(i: int) -> str:
    """A root, 9 tool steps of 5 leaves each; one leaf fails; values of every shape."""
    with lanterna.start_span("agent", span_type="AGENT") as root:
        root.set_inputs({"question": f"q{i}"})
        for j in range(9):
            with lanterna.start_span(f"step-{j}", span_type="TOOL") as step:
                step.set_inputs({"i": i, "j": j, "history": [{"role": "user"}]})
                for k in range(5):
                    with lanterna.start_span(f"leaf-{k}") as leaf:
                        leaf.set_attribute("k", k)
                        if j == 4 and k == 2:
                            leaf.set_status("ERROR")
                            leaf.set_attribute("why", "lone \ud800 surrogate")  # live path
                step.set_outputs(f"result {i}-{j}")
        root.set_outputs({"answer": "a", "n": 2**70})
    return root.trace_id


def test_a_backlog_of_nested_traces_is_invisible_to_the_collector_and_stored_whole(
    monkeypatch: Any,
) -> None:
    """Past ``PACK_CHILDREN_AFTER`` queued spans, child spans wait packed too: 40 traces of
    55 spans behind a held-up export add a few tracked objects per trace, not one per span,
    and every trace still reads back whole, tree, values and statuses included."""
    entered, release = _held_up_export(monkeypatch)
    try:
        with lanterna.start_span("first"):
            pass
        assert entered.wait(10)
        for i in range(25):  # fills the queue past the threshold (live spans)
            _agent_trace(i)
        gc.collect()
        before = len(gc.get_objects())
        trace_ids = [_agent_trace(i) for i in range(40)]
        gc.collect()
        gc.collect()
        grown = len(gc.get_objects()) - before
    finally:
        release.set()
    monkeypatch.undo()
    lanterna.flush_trace_async_logging()
    assert grown < 40 * 10, f"{grown} objects tracked for 40 queued traces of 55 spans"
    for i, trace_id in enumerate(trace_ids):
        trace = lanterna.get_trace(trace_id)
        assert trace is not None and len(trace.data.spans) == 55
        spans = {span.name: span for span in trace.data.spans if not span.name.startswith("leaf")}
        root = spans["agent"]
        assert root.parent_id is None and root.outputs == {"answer": "a", "n": 2**70}
        step = spans["step-4"]
        assert step.parent_id == root.span_id and step.span_type == "TOOL"
        assert step.inputs == {"i": i, "j": 4, "history": [{"role": "user"}]}
        assert step.outputs == f"result {i}-4"
        leaves = [s for s in trace.data.spans if s.parent_id == step.span_id]
        assert [s.get_attribute("k") for s in leaves] == [0, 1, 2, 3, 4]
        failed = leaves[2]
        assert failed.status.status_code == "ERROR" and "surrogate" in failed.get_attribute("why")
        assert {s.status.status_code for s in leaves if s is not failed} == {"OK"}
        assert trace.info.state == "OK"


def test_packed_children_follow_their_trace_to_its_store(
    monkeypatch: Any, tmp_path: Any
) -> None:
    """A trace open across ``set_tracking_uri`` goes whole to the store it started in, also
    when its children wait packed."""
    from lanterna.export import pipeline

    monkeypatch.setattr(pipeline, "PACK_CHILDREN_AFTER", 0)
    first, second = f"sqlite:///{tmp_path / 'first.db'}", f"sqlite:///{tmp_path / 'second.db'}"
    lanterna.set_tracking_uri(first)
    try:
        with lanterna.start_span("root") as root:
            with lanterna.start_span("before-switch"):
                pass
            lanterna.set_tracking_uri(second)
            with lanterna.start_span("after-switch") as after:
                after.add_event(lanterna.entities.SpanEvent("note"))  # an event: live path
            with lanterna.start_span("packed-after-switch"):
                pass
        lanterna.flush_trace_async_logging()
        lanterna.set_tracking_uri(first)
        stored = lanterna.get_trace(root.trace_id)
    finally:
        lanterna.set_tracking_uri(None)
    assert stored is not None
    assert sorted(s.name for s in stored.data.spans) == [
        "after-switch", "before-switch", "packed-after-switch", "root"]
    (noted,) = [s for s in stored.data.spans if s.name == "after-switch"]
    assert [e.name for e in noted.events] == ["note"]


def test_a_root_dropped_by_a_full_queue_leaves_no_trace_record_behind(monkeypatch: Any) -> None:
    """Packed children register their trace until its root is taken; a root the full queue
    drops must not leave that record behind for ever."""
    from lanterna.export import pipeline
    from lanterna.tracing import runtime

    monkeypatch.setattr(pipeline, "PACK_CHILDREN_AFTER", 0)
    release = threading.Event()

    class HeldUp:
        def export(self, batch: Any) -> None:
            release.wait(30)

        def shutdown(self) -> None:
            pass

    line = pipeline.Pipeline([HeldUp()], max_queue=3, batch_size=100, memory_queue=3)
    monkeypatch.setattr(runtime, "sink", line.put)
    try:
        for _ in range(3):
            with lanterna.start_span("root"):
                for _ in range(3):
                    with lanterna.start_span("child"):
                        pass
    finally:
        release.set()
    assert line.shutdown(10)
    counters = line.counters()
    assert counters["spans_dropped"] == 12 - counters["spans_exported"] > 0
    assert line.queued_traces() == []
