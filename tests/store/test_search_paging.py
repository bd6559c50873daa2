"""order_by, max_results, page tokens that stay stable while traces arrive, return types
(issue 4, acceptance 6), on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import lanterna
from lanterna.entities import Trace, TraceState
from lanterna.exceptions import InvalidFilterError, MlflowException
from lanterna.testing.databases import store_experiment, store_uri  # noqa: F401  (fixtures)

T0 = 1_700_000_000_000


def make(name: str, start_ms: int, duration_ms: int, status: str = "OK") -> str:
    span = lanterna.start_span_no_context(name, inputs={"n": name},
                                          start_time_ns=start_ms * 1_000_000)
    child = lanterna.start_span_no_context("child", parent_span=span)  # type: ignore[arg-type]
    child.end(outputs=name.upper())
    span.end(outputs=f"out-{name}", status=status,
             end_time_ns=(start_ms + duration_ms) * 1_000_000)
    return str(span.trace_id)


def names(traces: list[Trace]) -> list[str | None]:
    return [t.info.name for t in traces]


def search(**kwargs: object) -> list[Trace]:
    result = lanterna.search_traces(return_type="list", **kwargs)  # type: ignore[arg-type]
    assert isinstance(result, list)
    return result


@pytest.fixture
def five(store_experiment: str) -> dict[str, str]:  # noqa: F811
    return {
        "c": make("c", T0 + 3000, 30),
        "a": make("a", T0 + 1000, 500, status="ERROR"),
        "e": make("e", T0 + 5000, 10),
        "b": make("b", T0 + 2000, 200),
        "d": make("d", T0 + 4000, 200),
    }


def test_default_order_is_newest_first(five: dict[str, str]) -> None:
    assert names(search()) == ["e", "d", "c", "b", "a"]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        (["timestamp_ms ASC"], ["a", "b", "c", "d", "e"]),
        (["timestamp DESC"], ["e", "d", "c", "b", "a"]),
        (["execution_time_ms DESC"], []),  # b and d tie: checked below
        (["execution_time_ms DESC", "timestamp_ms ASC"], ["a", "b", "d", "c", "e"]),
        (["name DESC"], ["e", "d", "c", "b", "a"]),
        (["attributes.name"], ["a", "b", "c", "d", "e"]),
        (["status ASC", "timestamp_ms DESC"], ["a", "e", "d", "c", "b"]),
        (["end_time_ms ASC"], ["a", "b", "c", "d", "e"]),
    ],
)
def test_order_by(five: dict[str, str], order_by: list[str], expected: list[str]) -> None:
    found = names(search(order_by=order_by))
    if order_by == ["execution_time_ms DESC"]:  # b and d tie at 200 ms: only the rest is fixed
        assert found[0] == "a" and set(found[1:3]) == {"b", "d"} and found[3:] == ["c", "e"]
    else:
        assert found == expected


def test_order_by_request_id(five: dict[str, str]) -> None:
    found = [t.info.trace_id for t in search(order_by=["request_id ASC"])]
    assert found == sorted(five.values())


def test_bad_order_by_names_the_key(five: dict[str, str]) -> None:
    with pytest.raises(InvalidFilterError, match="'colour'"):
        search(order_by=["colour DESC"])


def test_max_results_and_page_tokens(five: dict[str, str]) -> None:
    first = lanterna.search_traces(max_results=2, return_type="list")
    assert names(first) == ["e", "d"]
    token = first.token
    assert token
    second = lanterna.search_traces(max_results=2, return_type="list", page_token=token)
    assert names(second) == ["c", "b"]
    third = lanterna.search_traces(max_results=2, return_type="list", page_token=second.token)
    assert names(third) == ["a"]
    assert third.token is None


def test_pages_stay_stable_while_new_traces_arrive(five: dict[str, str]) -> None:
    seen: list[str | None] = []
    page = lanterna.search_traces(max_results=2, return_type="list")
    seen += names(page)
    arrivals = 0
    while page.token:
        # newer traces, one of them at exactly the same time as the last trace seen
        make(f"new{arrivals}", T0 + 9000 + arrivals, 5)
        make(f"same{arrivals}", T0 + 3000, 5)
        arrivals += 1
        page = lanterna.search_traces(max_results=2, return_type="list", page_token=page.token)
        seen += names(page)
    originals = [n for n in seen if n and len(n) == 1]
    assert originals == ["e", "d", "c", "b", "a"]  # each once, in order, none skipped
    assert len(seen) == len(set(seen))


def test_token_from_another_search_is_refused(five: dict[str, str]) -> None:
    page = lanterna.search_traces(max_results=2, return_type="list")
    with pytest.raises(MlflowException, match="another filter"):
        lanterna.search_traces(max_results=2, filter_string="trace.status = 'OK'",
                               page_token=page.token)
    with pytest.raises(MlflowException, match="invalid page_token"):
        lanterna.search_traces(max_results=2, page_token="garbage!")


def test_max_results_none_returns_everything(five: dict[str, str]) -> None:
    assert len(search()) == 5
    assert len(search(max_results=3)) == 3
    assert len(search(max_results=0)) == 0  # as MLflow's fluent search_traces
    with pytest.raises(MlflowException, match="max_results"):
        search(max_results=-1)


def test_return_types(five: dict[str, str]) -> None:
    frame = lanterna.search_traces()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == [
        "trace_id", "trace", "client_request_id", "state", "request_time",
        "execution_duration", "request", "response", "trace_metadata", "tags", "spans",
        "assessments",
    ]
    row = frame[frame["trace_id"] == five["a"]].iloc[0]
    assert row["state"] == TraceState.ERROR
    assert row["request"] == {"n": "a"} and row["response"] == "out-a"
    assert row["execution_duration"] == 500 and row["request_time"] == T0 + 1000
    assert [s["name"] for s in row["spans"]] == ["a", "child"]
    assert Trace.from_json(row["trace"]).info.trace_id == five["a"]
    assert row["tags"]["mlflow.traceName"] == "a"
    listed = lanterna.search_traces(return_type="list")
    assert all(isinstance(t, Trace) for t in listed)
    with pytest.raises(MlflowException, match="return_type"):
        lanterna.search_traces(return_type="dict")


def test_include_spans_false_gives_infos_only(five: dict[str, str]) -> None:
    traces = search(include_spans=False)
    assert all(t.data.spans == [] for t in traces)
    frame = lanterna.search_traces(include_spans=False)
    row = frame[frame["trace_id"] == five["b"]].iloc[0]
    assert row["request"] == {"n": "b"}  # from the trace's metadata


def test_stored_trace_round_trips(five: dict[str, str]) -> None:
    from lanterna.export import setup

    lanterna.flush_trace_async_logging()
    setup.memory.clear()  # read it back from the store
    trace = lanterna.get_trace(five["b"])
    assert trace is not None
    assert trace.info.request_time == T0 + 2000 and trace.info.execution_duration == 200
    assert [s.name for s in trace.data.spans] == ["b", "child"]
    root = trace.data.spans[0]
    assert root.inputs == {"n": "b"} and root.outputs == "out-b"
    assert int(trace.info.trace_metadata["mlflow.trace.sizeBytes"]) > 100
    assert json.loads(trace.to_json())["info"]["trace_id"] == five["b"]


@pytest.mark.parametrize("plan", ["from-index", "walk"])
def test_pages_of_a_filtered_search_under_both_plans(
    five: dict[str, str], plan: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lanterna.store.sql import searching

    monkeypatch.setattr(searching, "DRIVE_BELOW", 10**9 if plan == "from-index" else 0)
    if plan == "from-index":  # however little walking would cost
        monkeypatch.setattr(searching, "WALK_RATIO", 1e-9)
    for order_by, expected in ((None, ["e", "d", "c", "b", "a"]),
                               (["name ASC"], ["a", "b", "c", "d", "e"]),
                               (["status DESC", "timestamp_ms ASC"], ["b", "c", "d", "e", "a"])):
        seen: list[str | None] = []
        page = lanterna.search_traces(filter_string="span.name = 'child'", max_results=2,
                                      order_by=order_by, return_type="list")
        seen += names(page)
        while page.token:
            page = lanterna.search_traces(filter_string="span.name = 'child'", max_results=2,
                                          order_by=order_by, return_type="list",
                                          page_token=page.token)
            seen += names(page)
        assert seen == expected
