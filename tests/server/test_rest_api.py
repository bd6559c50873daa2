"""lanterna's REST API through a real ``lanterna server`` process, on SQLite and PostgreSQL:
search (filter, order, pages, with and without spans), get, skeleton, spans on demand, tags,
delete, experiments, and the error shape for bad input."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from lanterna.entities import Trace
from lanterna.testing.databases import store_uri  # noqa: F401
from lanterna.testing.server import RunningServer, running_server

from .httpcall import call

WIDE = 150  # spans in the wide trace


@pytest.fixture(scope="module")
def seeded(store_uri: str) -> Iterator[tuple[RunningServer, str, dict[str, str]]]:  # noqa: F811
    """A server over a store holding five small traces and one wide trace in a new experiment.
    Yields (server, experiment id, {name: trace id})."""
    lanterna.set_tracking_uri(store_uri)
    ids: dict[str, str] = {}
    try:
        experiment_id = lanterna.set_experiment("rest-api").experiment_id
        for i in range(5):
            with lanterna.start_span(f"small-{i}") as root:
                root.set_inputs({"question": f"question {i}"})
                with lanterna.start_span("step", span_type="TOOL") as child:
                    child.set_outputs({"n": i})
                root.set_outputs(f"answer {i}")
            ids[f"small-{i}"] = str(lanterna.get_last_active_trace_id())
        with lanterna.start_span("wide"):
            for i in range(WIDE - 1):
                with lanterna.start_span(f"leaf-{i}") as leaf:
                    leaf.set_inputs({"i": i})
        ids["wide"] = str(lanterna.get_last_active_trace_id())
        lanterna.flush_trace_async_logging()
    finally:
        lanterna.set_experiment(experiment_id="0")
        lanterna.set_tracking_uri(None)
    with running_server(store_uri) as server:
        yield server, experiment_id, ids


def api(server: RunningServer, path: str) -> str:
    return f"{server.url}/api/v1{path}"


def test_health_answers_ok(seeded: tuple[RunningServer, str, dict[str, str]]) -> None:
    server, _, _ = seeded
    reply = call("GET", server.url + "/health")
    assert reply.status == 200 and reply.json() == {"status": "ok"}
    assert "default-src 'self'" in reply.headers["content-security-policy"]


def test_experiments(seeded: tuple[RunningServer, str, dict[str, str]]) -> None:
    server, experiment_id, _ = seeded
    listed = call("GET", api(server, "/experiments")).json()["experiments"]
    by_id = {e["experiment_id"]: e for e in listed}
    assert by_id[experiment_id]["name"] == "rest-api"
    assert by_id[experiment_id]["trace_count"] == 6
    assert by_id["0"]["name"] == "Default"
    created = call("POST", api(server, "/experiments"), {"name": "made-over-http"}).json()
    again = call("POST", api(server, "/experiments"), {"name": "made-over-http"}).json()
    assert created == again and created["name"] == "made-over-http"
    got = call("GET", api(server, f"/experiments/{created['experiment_id']}")).json()
    assert got == created
    missing = call("GET", api(server, "/experiments/987654"))
    assert missing.status == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


def search(server: RunningServer, **query: object) -> dict[str, object]:
    reply = call("GET", api(server, "/traces?" + urllib.parse.urlencode(query, doseq=True)))
    assert reply.status == 200, reply
    result: dict[str, object] = reply.json()
    return result


def test_search_pages_filters_and_orders(
    seeded: tuple[RunningServer, str, dict[str, str]],
) -> None:
    server, experiment_id, ids = seeded
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query: dict[str, object] = {"experiment_id": experiment_id, "max_results": 4}
        if token:
            query["page_token"] = token
        page = search(server, **query)
        traces = page["traces"]
        assert isinstance(traces, list)
        seen.extend(t["info"]["trace_id"] for t in traces)
        assert all(t["data"]["spans"] == [] for t in traces)  # info only by default
        pages += 1
        token = page["next_page_token"]
        if token is None:
            break
    assert pages == 2 and sorted(seen) == sorted(ids.values())

    newest_first = search(server, experiment_id=experiment_id, order_by="timestamp_ms DESC")
    oldest_first = search(server, experiment_id=experiment_id, order_by="timestamp_ms ASC")
    assert [t["info"]["trace_id"] for t in newest_first["traces"]] == list(
        reversed([t["info"]["trace_id"] for t in oldest_first["traces"]]))

    found = search(server, experiment_id=experiment_id, filter="name = 'small-3'",
                   include_spans="true")
    (trace,) = found["traces"]
    assert trace["info"]["trace_id"] == ids["small-3"]
    assert {s["name"] for s in trace["data"]["spans"]} == {"small-3", "step"}

    everywhere = search(server, filter="name = 'small-3'")  # no experiment: all of them
    assert [t["info"]["trace_id"] for t in everywhere["traces"]] == [ids["small-3"]]


def test_get_trace_is_the_sdk_trace(seeded: tuple[RunningServer, str, dict[str, str]]) -> None:
    server, _, ids = seeded
    reply = call("GET", api(server, f"/traces/{ids['small-1']}"))
    trace = Trace.from_dict(reply.json())
    assert trace.info.trace_id == ids["small-1"]
    root = next(s for s in trace.data.spans if s.parent_id is None)
    assert root.inputs == {"question": "question 1"} and root.outputs == "answer 1"
    assert len(trace.data.spans) == 2


def test_skeleton_then_spans_on_demand(
    seeded: tuple[RunningServer, str, dict[str, str]],
) -> None:
    server, _, ids = seeded
    skeleton = call("GET", api(server, f"/traces/{ids['wide']}/skeleton")).json()
    assert skeleton["trace_id"] == ids["wide"] and skeleton["span_count"] == WIDE
    columns = skeleton["columns"]
    assert all(len(values) == WIDE for values in columns.values())
    root = columns["parent_span_id"].index(None)
    assert columns["name"][root] == "wide" and columns["start"][root] == 0
    assert all(p == columns["span_id"][root] for i, p in enumerate(columns["parent_span_id"])
               if i != root)
    assert all(end >= start for start, end in zip(columns["start"], columns["end"],
                                                  strict=True))
    assert int(skeleton["origin_ns"]) > 0 and set(columns["status"]) == {"OK"}

    wanted = columns["span_id"][1:4]
    query = urllib.parse.urlencode({"span_id": [*wanted, "00000000000000ff"]}, doseq=True)
    spans = call("GET", api(server, f"/traces/{ids['wide']}/spans?{query}")).json()["spans"]
    assert len(spans) == 3
    names = {lanterna.entities.Span.from_dict(s).name for s in spans}
    assert names == {columns["name"][i] for i in range(1, 4)}


def test_tags_and_delete(seeded: tuple[RunningServer, str, dict[str, str]]) -> None:
    server, experiment_id, ids = seeded
    trace_id = ids["small-4"]
    assert call("PUT", api(server, f"/traces/{trace_id}/tags/team"), {"value": "search"}
                ).status == 200
    assert call("PUT", api(server, f"/traces/{trace_id}/tags/a/b"), {"value": "slash"}
                ).status == 200
    tags = call("GET", api(server, f"/traces/{trace_id}")).json()["info"]["tags"]
    assert tags["team"] == "search" and tags["a/b"] == "slash"
    assert call("DELETE", api(server, f"/traces/{trace_id}/tags/team")).status == 200
    tags = call("GET", api(server, f"/traces/{trace_id}")).json()["info"]["tags"]
    assert "team" not in tags
    unknown = call("PUT", api(server, "/traces/tr-0123/tags/x"), {"value": "y"})
    assert unknown.status == 404

    deleted = call("POST", api(server, "/traces/delete"),
                   {"experiment_id": experiment_id, "trace_ids": [trace_id]}).json()
    assert deleted == {"deleted": 1, "trace_ids": [trace_id]}
    assert call("GET", api(server, f"/traces/{trace_id}")).status == 404


def error_of(reply: object) -> dict[str, object]:
    error: dict[str, object] = reply.json()["error"]  # type: ignore[attr-defined]
    return error


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), [
    ("GET", "/traces/tr-does-not-exist", None, 404, "NOT_FOUND"),
    ("GET", "/traces/tr-does-not-exist/skeleton", None, 404, "NOT_FOUND"),
    ("GET", "/traces/tr-does-not-exist/spans?span_id=00000000000000aa", None, 404, "NOT_FOUND"),
    ("GET", "/traces/bad%20id%21", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces/tr-1/spans?span_id=xyz", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces/tr-1/spans", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces?max_results=0", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces?max_results=lots", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces?include_spans=maybe", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces?page_token=garbage", None, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/traces?order_by=nonsense%20sideways", None, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/experiments", b"{not json", 400, "MALFORMED_REQUEST"),
    ("POST", "/experiments", [1, 2], 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/experiments", {"name": ""}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/traces/delete", {"experiment_id": "0"}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/traces/delete", {"experiment_id": "0", "trace_ids": "tr-1"}, 400,
     "INVALID_PARAMETER_VALUE"),
    ("PUT", "/traces/tr-1/tags/k", {"value": 3.5}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/traces/delete", {"experiment_id": "0", "max_timestamp_millis": 1,
                                "max_traces": 2**63 + 5}, 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/traces/delete", b'{"experiment_id": "\\ud834x", "trace_ids": ["a"]}', 400,
     "INVALID_PARAMETER_VALUE"),
    ("PUT", "/traces/tr-1/tags/k", b'{"value": "\\udc00"}', 400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/traces/infos", {"trace_infos": [{"trace_id": "tr-1", "request_time": 2**70}]},
     400, "INVALID_PARAMETER_VALUE"),
    ("POST", "/traces/infos", {"trace_infos": "tr-1"}, 400, "INVALID_PARAMETER_VALUE"),
    ("GET", "/nothing-here", None, 404, "NOT_FOUND"),
    ("DELETE", "/experiments", None, 405, "METHOD_NOT_ALLOWED"),
])
def test_bad_input_gets_a_clear_4xx(
    seeded: tuple[RunningServer, str, dict[str, str]],
    method: str, path: str, body: object, status: int, code: str,
) -> None:
    server, _, _ = seeded
    raw = body if isinstance(body, bytes) else None
    reply = call(method, api(server, path), None if raw is not None else body, raw=raw)
    assert reply.status == status, reply
    error = error_of(reply)
    assert error["code"] == code and isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in reply.body.decode()


def test_a_bad_filter_points_at_the_token(
    seeded: tuple[RunningServer, str, dict[str, str]],
) -> None:
    server, _, _ = seeded
    text = "name = 'a' AND tags.env ~ 'prod'"
    reply = call("GET", api(server, "/traces?" + urllib.parse.urlencode({"filter": text})))
    assert reply.status == 400
    error = error_of(reply)
    assert error["position"] == text.index("~")
    assert "~" in str(error["message"])


def test_the_store_is_intact_after_bad_input(
    seeded: tuple[RunningServer, str, dict[str, str]],
) -> None:
    server, experiment_id, ids = seeded
    call("POST", api(server, "/experiments"), raw=b"\xff\xfe garbage")
    call("GET", api(server, "/traces?filter=%27"))
    found = search(server, experiment_id=experiment_id, max_results=100)["traces"]
    assert {t["info"]["trace_id"] for t in found} >= {ids["small-0"], ids["wide"]}


def test_metrics_in_prometheus_text(seeded: tuple[RunningServer, str, dict[str, str]]) -> None:
    server, _, ids = seeded
    call("GET", api(server, f"/traces/{ids['small-0']}"))
    call("GET", api(server, "/traces/tr-none"))
    reply = call("GET", server.url + "/metrics")
    assert reply.status == 200 and reply.headers["content-type"].startswith("text/plain")
    text = reply.body.decode()
    assert ('lanterna_http_request_duration_seconds_count{method="GET",'
            'route="/api/v1/traces/{trace_id}",status="200"}') in text
    assert 'route="/api/v1/traces/{trace_id}",status="404"' in text
    for name in ("lanterna_spans_received", "lanterna_spans_written", "lanterna_spans_rejected",
                 "lanterna_store_errors"):
        assert f"# TYPE {name}_total counter" in text
    assert "tr-none" not in text  # raw paths never become labels


def test_several_workers_serve_and_sum_their_metrics(tmp_path: Path) -> None:
    with running_server(f"sqlite:///{tmp_path / 't.db'}", args=["--workers", "2"]) as server:
        for _ in range(12):
            assert call("GET", api(server, "/experiments")).status == 200
        # A request is counted just after its answer is sent: read until the last one is in.
        expected = ('lanterna_http_request_duration_seconds_count{method="GET",'
                    'route="/api/v1/experiments",status="200"} 12.0')
        for _ in range(50):
            text = call("GET", server.url + "/metrics").body.decode()
            if expected in text:
                break
    assert expected in text
