"""Values are snapshotted and never raise into user code (issue 3, acceptance 5)."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import lanterna
from lanterna.testing.pytest_plugin import TracesRecorded


class HostileRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr exploded")

    def __str__(self) -> str:
        raise RuntimeError("str exploded")


class Model(BaseModel):
    name: str
    tags: list[str]


@dataclasses.dataclass
class Point:
    x: int
    y: int


def stored(value: Any, traces: TracesRecorded) -> Any:
    with lanterna.start_span("s") as span:
        span.set_inputs(value)
        span.set_outputs({"v": value})
        span.set_attribute("a", value)
    trace = traces.last()
    exported = lanterna.entities.Trace.from_json(trace.to_json())  # what a store gives back
    return exported.data.spans[0].inputs


def test_values_are_snapshotted_when_set(traces: TracesRecorded) -> None:
    payload = {"items": [1, 2]}
    with lanterna.start_span("s") as span:
        span.set_inputs(payload)
        payload["items"].append(3)
        payload["new"] = True
    assert traces.last().data.spans[0].inputs == {"items": [1, 2]}


def test_falsy_and_non_ascii_values_are_kept(traces: TracesRecorded) -> None:
    for value in ([], 0, False, "", {}, "ação 日本 🚀"):
        assert stored(value, traces) == value
    assert "ação 日本 🚀" in traces.last().to_json()


def test_fallbacks(traces: TracesRecorded) -> None:
    assert stored(Model(name="n", tags=["a"]), traces) == {"name": "n", "tags": ["a"]}
    assert stored(Point(1, 2), traces) == {"x": 1, "y": 2}
    assert stored({1, 2}, traces) == "{1, 2}"
    assert stored(b"\x00\xff", traces) == "b'\\x00\\xff'"
    assert stored((1, "a"), traces) == [1, "a"]
    assert stored(HostileRepr(), traces) == "<unrepresentable HostileRepr>"
    assert stored({HostileRepr(): 1}, traces) == {"<unrepresentable HostileRepr>": 1}


def test_awkward_values_never_raise(traces: TracesRecorded) -> None:
    circular: list[Any] = [1]
    circular.append(circular)
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    huge = 10**10000
    assert stored(circular, traces) == [1, "<circular reference>"]
    assert "nested too deeply" in json.dumps(stored(deep, traces))
    assert stored(huge, traces) == f"<int of {huge.bit_length()} bits>"
    described = f"<int of {huge.bit_length()} bits>"
    assert stored({"n": huge, "k": 1}, traces) == {"n": described, "k": 1}
    assert math.isnan(stored(float("nan"), traces))
    assert stored(float("inf"), traces) == float("inf")


objects = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary()
    | st.builds(HostileRepr) | st.builds(object) | st.integers(min_value=10**5000),
    lambda children: st.lists(children) | st.dictionaries(st.text() | st.integers(), children)
    | st.tuples(children, children) | st.frozensets(st.integers()),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(value=objects)
def test_arbitrary_objects_never_raise(value: Any) -> None:
    @lanterna.trace
    def traced(arg: Any) -> Any:
        lanterna.update_current_trace(tags={"t": "v"})
        span = lanterna.get_current_active_span()
        assert span is not None
        span.set_attributes({"x": value, "y": [value]})
        return arg

    assert traced(value) is value
    trace = lanterna.get_trace(lanterna.get_last_active_trace_id() or "")
    assert trace is not None
    assert lanterna.entities.Trace.from_json(trace.to_json()).trace_id == trace.trace_id
