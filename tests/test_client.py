"""The low-level client against the fluent API, misuse, unclosed work and threads (issue 5)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from conftest import run_python
from lanterna import Client, MlflowClient
from lanterna.exceptions import MlflowException, TraceNotFoundError
from lanterna.testing.pytest_plugin import TracesRecorded


@pytest.fixture
def sqlite_uri(tmp_path: Path) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path}/traces.db"
    lanterna.set_tracking_uri(uri)
    try:
        yield uri
    finally:
        lanterna.set_tracking_uri(None)


def test_mlflowclient_is_client() -> None:
    assert MlflowClient is Client


def test_client_spans_nest_under_a_fluent_parent(traces: TracesRecorded) -> None:
    client = Client()
    with lanterna.start_span("fluent") as parent:
        child = client.start_span("client-child", trace_id=parent.trace_id,
                                  parent_id=parent.span_id, inputs={"q": 1})
        assert lanterna.get_current_active_span() is parent
        client.end_span(parent.trace_id, child.span_id, outputs={"a": 2})
    trace = traces.last()
    assert {s.name: s.parent_id for s in trace.data.spans} == {
        "fluent": None, "client-child": parent.span_id}


def test_client_trace_inside_fluent_span_is_independent(traces: TracesRecorded) -> None:
    client = Client()
    with lanterna.start_span("fluent") as outer:
        root = client.start_trace("independent")
        assert lanterna.get_current_active_span() is outer
        assert root.trace_id != outer.trace_id and root.parent_id is None
        client.end_trace(root.trace_id)
        assert lanterna.get_last_active_trace_id() == root.trace_id
    assert lanterna.get_last_active_trace_id() == outer.trace_id
    assert len(traces.all()) == 2


def test_misuse_messages_name_the_fix(
    traces: TracesRecorded, caplog: pytest.LogCaptureFixture
) -> None:
    client = Client()
    root = client.start_trace("t")
    other = client.start_trace("other")
    with pytest.raises(MlflowException, match="needs parent_id: pass the span_id"):
        client.start_span("x", trace_id=root.trace_id)
    with pytest.raises(TraceNotFoundError, match="is not open: .* start_trace"):
        client.start_span("x", trace_id="tr-" + "1" * 32, parent_id=root.span_id)
    with pytest.raises(TraceNotFoundError, match="no span 'ffffffffffffffff' in trace"):
        client.start_span("x", trace_id=root.trace_id, parent_id="f" * 16)
    child = client.start_span("child", trace_id=root.trace_id, parent_id=root.span_id)
    client.end_span(root.trace_id, child.span_id)
    client.end_span(root.trace_id, child.span_id)
    assert caplog.text.count("call end_span once per start_span") == 1
    client.end_span(root.trace_id, root.span_id)
    assert "end it with end_trace()" in caplog.text
    # a span whose parent already ended is still accepted
    late = client.start_span("late", trace_id=root.trace_id, parent_id=child.span_id)
    client.end_span(root.trace_id, late.span_id)
    client.end_trace(root.trace_id)
    with pytest.raises(TraceNotFoundError, match="already ended or never started"):
        client.end_trace(root.trace_id)
    with pytest.raises(TraceNotFoundError, match="already ended or never started"):
        client.end_trace("tr-" + "2" * 32)
    # none of that touched the other trace
    client.end_trace(other.trace_id, outputs="fine")
    kept = {t.info.tags["mlflow.traceName"]: t for t in traces.all()}
    assert [s.name for s in kept["t"].data.spans] == ["t", "child", "late"]
    assert kept["other"].data.spans[0].outputs == "fine"
    assert kept["other"].info.state == "OK"


def test_request_id_is_accepted_with_a_future_warning(traces: TracesRecorded) -> None:
    client = Client()
    root = client.start_trace("t")
    with pytest.warns(FutureWarning, match="'request_id' parameter is deprecated"):
        child = client.start_span("c", request_id=root.request_id, parent_id=root.span_id)
    with pytest.warns(FutureWarning):
        client.end_span(request_id=root.request_id, span_id=child.span_id)
    with pytest.warns(FutureWarning):
        client.end_trace(request_id=root.request_id)
    assert len(traces.last().data.spans) == 2


def test_end_trace_with_open_children_stores_them_as_error(traces: TracesRecorded) -> None:
    client = Client()
    root = client.start_trace("t")
    a = client.start_span("a", trace_id=root.trace_id, parent_id=root.span_id)
    client.start_span("b", trace_id=root.trace_id, parent_id=a.span_id)
    client.end_trace(root.trace_id, outputs={"ok": 1})
    spans = {s.name: s for s in traces.last().data.spans}
    for name in ("a", "b"):
        assert spans[name].status.status_code == "ERROR"
        assert "was not ended before end_trace()" in spans[name].status.description
        assert spans[name].attributes["lanterna.notEnded"]
    assert spans["t"].status.status_code == "OK"


def test_trace_never_ended_is_stored_after_timeout_and_at_exit(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/t.db"
    code = """
import sys, time, lanterna
client = lanterna.MlflowClient()
forgotten = client.start_trace("forgotten")
deadline = time.monotonic() + 30
while lanterna.get_trace(forgotten.trace_id, silent=True) is None:
    assert time.monotonic() < deadline, "the timeout never ended the trace"
    time.sleep(0.05)
print(lanterna.get_trace(forgotten.trace_id).info.state)
client.start_trace("open-at-exit")
"""
    result = run_python(code, tmp_path, env={
        "LANTERNA_TRACKING_URI": db, "LANTERNA_TRACE_TIMEOUT_SECONDS": "0.5"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ERROR"
    check = run_python(
        "import lanterna\n"
        "for t in lanterna.search_traces(return_type='list', order_by=['timestamp_ms ASC']):\n"
        "    print(t.info.tags['mlflow.traceName'], t.info.state,"
        " t.data.spans[0].status.description)",
        tmp_path, env={"LANTERNA_TRACKING_URI": db})
    assert check.returncode == 0, check.stderr
    lines = check.stdout.strip().splitlines()
    assert lines[0].startswith("forgotten ERROR the trace was still open after 0.5 s")
    assert lines[1].startswith("open-at-exit ERROR the process exited before")


def test_shared_client_from_many_threads(sqlite_uri: str) -> None:
    client = Client()
    shared = client.start_trace("shared")
    barrier = threading.Barrier(64)
    errors: list[BaseException] = []

    def own_traces(i: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                root = client.start_trace(f"own-{i}-{j}")
                kid = client.start_span("kid", trace_id=root.trace_id, parent_id=root.span_id)
                grandkid = client.start_span("grandkid", trace_id=root.trace_id,
                                             parent_id=kid.span_id)
                client.end_span(root.trace_id, grandkid.span_id)
                client.end_span(root.trace_id, kid.span_id)
                client.end_trace(root.trace_id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def shared_children(i: int) -> None:
        try:
            barrier.wait()
            for j in range(5):
                span = client.start_span(f"shared-{i}-{j}", trace_id=shared.trace_id,
                                         parent_id=shared.span_id)
                time.sleep(0)
                client.end_span(shared.trace_id, span.span_id, outputs=j)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=own_traces, args=(i,)) for i in range(32)]
    threads += [threading.Thread(target=shared_children, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    client.end_trace(shared.trace_id)
    stored = lanterna.search_traces(return_type="list", max_results=None)
    assert len(stored) == 32 * 5 + 1
    shared_trace = next(t for t in stored if t.trace_id == shared.trace_id)
    children = [s for s in shared_trace.data.spans if s.parent_id == shared.span_id]
    assert len(children) == 32 * 5
    assert len({s.span_id for s in shared_trace.data.spans}) == len(shared_trace.data.spans)
    for trace in stored:
        if trace.trace_id == shared.trace_id:
            continue
        spans = {s.name: s for s in trace.data.spans}
        assert len(trace.data.spans) == 3
        assert spans["grandkid"].parent_id == spans["kid"].span_id
        assert spans["kid"].parent_id == trace.data.spans[0].span_id


def test_stored_trace_methods(sqlite_uri: str) -> None:
    client = Client()
    ids = []
    for i in range(5):
        root = client.start_trace(f"t{i}", tags={"batch": "b1"})
        client.end_trace(root.trace_id, outputs=i)
        ids.append(root.trace_id)
    first = client.search_traces(filter_string="tag.batch = 'b1'", max_results=2)
    assert len(first) == 2 and first.token is not None
    rest = client.search_traces(filter_string="tag.batch = 'b1'", max_results=10,
                                page_token=first.token)
    assert {t.trace_id for t in [*first, *rest]} == set(ids) and rest.token is None
    client.set_trace_tag(ids[0], "reviewed", "yes")
    assert client.get_trace(ids[0]).info.tags["reviewed"] == "yes"
    client.delete_trace_tag(ids[0], "reviewed")
    assert "reviewed" not in client.get_trace(ids[0]).info.tags
    assert client.delete_traces("0", trace_ids=ids[:2]) == 2
    with pytest.raises(TraceNotFoundError, match="not found"):
        client.get_trace(ids[0])
    assert len(client.search_traces(filter_string="tag.batch = 'b1'")) == 3


def test_client_with_its_own_tracking_uri(tmp_path: Path, traces: TracesRecorded) -> None:
    other = f"sqlite:///{tmp_path}/other.db"
    client = Client(tracking_uri=other)
    root = client.start_trace("elsewhere")
    client.end_trace(root.trace_id)
    assert [t.trace_id for t in client.search_traces()] == [root.trace_id]
    assert client.delete_traces("0", trace_ids=[root.trace_id]) == 1
