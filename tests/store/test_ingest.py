"""Store ingest: spans of a trace in pieces, any order, twice; trace info before or after them."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from lanterna.entities import SpanStatusCode
from lanterna.entities.span import Span
from lanterna.entities.trace_info import TraceInfo
from lanterna.entities.trace_state import TraceState
from lanterna.store.sql.store import SqlStore
from lanterna.testing.databases import store_uri  # noqa: F401

T0 = 1_700_000_000_000_000_000


@pytest.fixture
def store(store_uri: str) -> Iterator[SqlStore]:  # noqa: F811
    opened = SqlStore(store_uri)
    try:
        yield opened
    finally:
        opened.dispose()


def make_span(trace_id: str, span_id: str, parent: str | None, name: str, *, start: int = 0,
              end: int | None = 1_000_000, attributes: dict[str, object] | None = None,
              inputs: object = None, outputs: object = None, status: str = "OK") -> Span:
    attrs = {"mlflow.spanType": "CHAIN", **(attributes or {})}
    if inputs is not None:
        attrs["mlflow.spanInputs"] = inputs
    if outputs is not None:
        attrs["mlflow.spanOutputs"] = outputs
    import json

    return Span.from_dict({
        "trace_id": trace_id.removeprefix("tr-"), "span_id": span_id,
        "parent_span_id": parent or "", "name": name,
        "start_time_unix_nano": T0 + start,
        "end_time_unix_nano": None if end is None else T0 + end,
        "status": {"code": f"STATUS_CODE_{status}", "message": ""},
        "attributes": {k: json.dumps(v) for k, v in attrs.items()},
        "events": [],
    })


def new_ids() -> tuple[str, list[str]]:
    trace_id = "tr-" + uuid.uuid4().hex
    return trace_id, [uuid.uuid4().hex[:16] for _ in range(4)]


def test_pieces_in_any_order_from_children_to_root(store: SqlStore) -> None:
    trace_id, (a, b, c, _) = new_ids()
    usage = {"mlflow.chat.tokenUsage": {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}}
    store.log_spans("0", [make_span(trace_id, c, b, "leaf", start=30, end=40,
                                    attributes=usage)])
    early = store.get_trace(trace_id)
    assert early is not None and early.info.state is TraceState.IN_PROGRESS
    assert [s.name for s in early.data.spans] == ["leaf"]
    store.log_spans("0", [make_span(trace_id, b, a, "middle", start=20, end=50,
                                    attributes=usage)])
    root = make_span(trace_id, a, None, "root", start=0, end=2_000_000_000,
                     inputs={"messages": [{"role": "user", "content": "hello"}]},
                     outputs="goodbye", attributes={"mlflow.trace.session": "s-1",
                                                    "mlflow.traceTag.team": "search"})
    store.log_spans("0", [root])
    store.log_spans("0", [root, make_span(trace_id, c, b, "leaf", start=30, end=40,
                                          attributes=usage)])  # sent twice: stored once
    trace = store.get_trace(trace_id)
    assert trace is not None
    assert sorted(s.name for s in trace.data.spans) == ["leaf", "middle", "root"]
    info = trace.info
    assert info.state is TraceState.OK
    assert info.name == "root"
    assert info.request_preview == "hello"
    assert info.response_preview == "goodbye"
    assert info.execution_duration == 2000
    assert info.request_time == T0 // 1_000_000
    assert info.token_usage == {"input_tokens": 6, "output_tokens": 8, "total_tokens": 14}
    assert info.session_id == "s-1"
    assert info.tags["team"] == "search"
    found, _ = store.search_traces(["0"], filter_string="trace.name = 'root'")
    assert trace_id in [t.info.trace_id for t in found]


def test_root_first_then_late_children_add_usage(store: SqlStore) -> None:
    trace_id, (a, b, _, _) = new_ids()
    store.log_spans("0", [make_span(trace_id, a, None, "root", status="ERROR")])
    info = store.get_trace(trace_id).info  # type: ignore[union-attr]
    assert info.state is TraceState.ERROR and info.token_usage is None
    store.log_spans("0", [make_span(trace_id, b, a, "llm", attributes={
        "mlflow.chat.tokenUsage": {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}})])
    info = store.get_trace(trace_id).info  # type: ignore[union-attr]
    assert info.token_usage == {"input_tokens": 5, "output_tokens": 1, "total_tokens": 6}
    assert info.state is TraceState.ERROR


def test_client_info_wins_over_root_derived_in_either_order(store: SqlStore) -> None:
    for info_first in (True, False):
        trace_id, (a, _, _, _) = new_ids()
        client_info = TraceInfo(
            trace_id=trace_id, experiment_id="0", request_time=T0 // 1_000_000,
            state=TraceState.OK, request_preview="from the client", execution_duration=5,
            trace_metadata={"mlflow.trace_schema.version": "3", "custom": "x"},
            tags={"mlflow.traceName": "client-name", "k": "v"},
        )
        root = make_span(trace_id, a, None, "span-name", inputs={"q": 1})
        if info_first:
            store.log_trace_info(client_info)
            store.log_spans("0", [root])
        else:
            store.log_spans("0", [root])
            store.log_trace_info(client_info)
        trace = store.get_trace(trace_id)
        assert trace is not None
        assert trace.info.request_preview == "from the client"
        assert trace.info.name == "client-name"
        assert trace.info.tags["k"] == "v"
        assert trace.info.trace_metadata["custom"] == "x"
        assert trace.info.execution_duration == 5
        assert [s.name for s in trace.data.spans] == ["span-name"]
        assert store.traces_with_spans([trace_id, "tr-none"]) == {trace_id}
        assert [i.trace_id for i in store.get_trace_infos([trace_id])] == [trace_id]


def test_open_root_and_errors_status(store: SqlStore) -> None:
    trace_id, (a, _, _, _) = new_ids()
    store.log_spans("7", [make_span(trace_id, a, None, "still running", end=None)])
    trace = store.get_trace(trace_id)
    assert trace is not None
    assert trace.info.state is TraceState.IN_PROGRESS
    assert trace.info.experiment_id == "7"
    assert trace.data.spans[0].status.status_code is SpanStatusCode.OK


def test_concurrent_writers_of_one_trace_sum_all_usage(store_uri: str) -> None:  # noqa: F811
    """Two stores (as two servers would) write pieces of one trace at the same time."""
    import threading

    trace_id, (root_id, _, _, _) = new_ids()
    usage = {"mlflow.chat.tokenUsage": {"input_tokens": 1, "output_tokens": 2,
                                        "total_tokens": 3}}
    writers = [SqlStore(store_uri) for _ in range(2)]
    try:
        writers[0].log_spans("0", [make_span(trace_id, root_id, None, "root")])
        pieces = [[make_span(trace_id, uuid.uuid4().hex[:16], root_id, f"child {i}-{j}",
                             attributes=usage) for j in range(3)] for i in range(20)]
        start = threading.Barrier(2)

        def write(index: int) -> None:
            start.wait()
            for piece in pieces[index::2]:
                writers[index].log_spans("0", piece)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        trace = writers[0].get_trace(trace_id)
        assert trace is not None and len(trace.data.spans) == 61
        assert trace.info.token_usage == {"input_tokens": 60, "output_tokens": 120,
                                          "total_tokens": 180}
    finally:
        for writer in writers:
            writer.dispose()
