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
