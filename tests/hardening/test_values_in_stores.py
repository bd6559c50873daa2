"""Values (issue 9): no value loses a span or a trace, on SQLite or PostgreSQL. Each class
(huge ints, lone surrogates in values, names, keys and tags, NaN and ±Infinity, NUL, keys whose
``__str__`` raises, odd status descriptions) goes through every setter into a real store and is
read back from a new process; then hypothesis feeds arbitrary values the same way."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lanterna
from lanterna.entities import SpanEvent, SpanStatus

from .conftest import run

READ_IDS = """
import json, sys, lanterna
found = {}
for trace_id in json.loads(open(sys.argv[1]).read()):
    trace = lanterna.get_trace(trace_id, silent=True)
    found[trace_id] = None if trace is None else {
        "spans": len(trace.data.spans), "state": trace.info.state.value,
        "names": sorted(s.name for s in trace.data.spans),
        "inputs": [s.inputs for s in trace.data.spans if s.parent_id is None][0],
    }
print(json.dumps(found))
"""


class Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def record(value: Any, key: Any, text: str) -> str:
    """One trace through every setter, holding ``value``, ``key`` and ``text``."""
    with lanterna.start_span(name="root" + text, attributes={key: value}) as root:
        root.set_inputs(value)
        root.set_attribute(key, value)
        root.set_attributes({"plain": value, key: text})
        root.add_event(SpanEvent("event" + text, attributes={key: value, "v": value}))
        lanterna.update_current_trace(tags={key: text, "t" + text: value},
                                      metadata={key: text}, request_preview=text)
        with lanterna.start_span(name=text, span_type=text) as child:
            child.set_outputs({"value": value, text: [value]})
            child.set_status(SpanStatus("ERROR", text))
        root.set_outputs(value)
    trace_id = root.trace_id
    assert isinstance(trace_id, str)
    return trace_id


def _read(tmp_path: Path, url: str, ids: list[str]) -> dict[str, Any]:
    listing = tmp_path / "ids.json"
    listing.write_text(json.dumps(ids))
    code = READ_IDS.replace("sys.argv[1]", repr(str(listing)))
    done = run(code, tmp_path, url)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


CLASSES: dict[str, tuple[Any, Any, str]] = {
    "huge int": (10**5000, "k", "t"),
    "int beyond 64 bits": (2**70, "k", "t"),
    "lone surrogates everywhere": ("a\ud800b", "k\udfff", "n\ud800"),
    "NaN": (float("nan"), "k", "t"),
    "infinities": ([float("inf"), float("-inf")], "k", "t"),
    "NUL everywhere": ("a\x00b", "k\x00", "n\x00"),
    "key whose str raises": ({Unprintable(): 1}, Unprintable(), "t"),
    "nested mix": ({"x": [float("nan"), "\udfff", 10**400, "\x00", b"\xff"]}, 7, "é\ud83d"),
}


def test_every_value_class_is_stored_on_both_engines(
    tmp_path: Path, use_store: str, lanterna_tracing: object
) -> None:
    before = lanterna.tracing.export_stats()  # counters are per process: earlier tests count
    ids = {label: record(*case) for label, case in CLASSES.items()}
    lanterna.flush_trace_async_logging()
    stats = lanterna.tracing.export_stats()
    assert stats["spans_rejected"] == before["spans_rejected"]
    assert stats["spans_dropped"] == before["spans_dropped"]
    found = _read(tmp_path, use_store, list(ids.values()))
    for label, trace_id in ids.items():
        assert found[trace_id] is not None, label
        assert found[trace_id]["spans"] == 2, label
    nan_inputs = found[ids["NaN"]]["inputs"]
    assert isinstance(nan_inputs, float) and math.isnan(nan_inputs)  # as MLflow's JSON has it
    assert found[ids["infinities"]]["inputs"] == [math.inf, -math.inf]
    assert found[ids["int beyond 64 bits"]]["inputs"] == 2**70


def test_a_user_processor_that_raises_withholds_values(
    tmp_path: Path, use_store: str, lanterna_tracing: object, caplog: pytest.LogCaptureFixture
) -> None:

    def redact(span: Any) -> None:
        raise ValueError("redaction service down")

    with lanterna.tracing.configure(span_processors=[redact]), lanterna.start_span(
        name="secret"
    ) as span:
        span.set_inputs({"password": "hunter2"})
        span.set_attribute("api_key", "sk-123")
        span.set_outputs("hunter2")
    lanterna.flush_trace_async_logging()
    assert "your span processor" in caplog.text and "redaction service down" in caplog.text
    assert "internal error" not in caplog.text
    code = (f"import lanterna; t = lanterna.get_trace({span.trace_id!r}); "
            "print(t.to_json())")
    done = run(code, tmp_path, use_store)
    assert done.returncode == 0, done.stderr
    assert "hunter2" not in done.stdout and "sk-123" not in done.stdout
    assert "lanterna.processorFailed" in done.stdout


json_leaves = (
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers() | st.integers(min_value=10**300, max_value=10**6000)
    | st.text() | st.binary(max_size=20)
    | st.sampled_from(["\ud800", "\udfff", "a\x00b", "\ud83d\ude00"])
)
values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12,
)
keys = st.text(max_size=12) | st.sampled_from(["k\ud800", "\x00", ""]) | st.integers()


def test_arbitrary_values_through_every_setter_are_read_back(
    tmp_path: Path, use_store: str, lanterna_tracing: object
) -> None:
    ids: list[str] = []
    before = lanterna.tracing.export_stats()  # counters are per process: earlier tests count

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(cases=st.lists(st.tuples(values, keys, st.text(max_size=12)), min_size=1,
                          max_size=4))
    def record_all(cases: list[tuple[Any, Any, str]]) -> None:
        ids.extend(record(value, key, text) for value, key, text in cases)

    record_all()
    lanterna.flush_trace_async_logging()
    stats = lanterna.tracing.export_stats()
    for counter in ("spans_rejected", "spans_dropped", "internal_errors"):
        assert stats[counter] == before[counter], counter
    found = _read(tmp_path, use_store, ids)  # from a new process
    lost = [trace_id for trace_id in ids if not found[trace_id] or found[trace_id]["spans"] != 2]
    assert lost == []
