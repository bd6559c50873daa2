"""The REST routes the web UI adds (issue 13), on both engines: ``GET /api/v1/sessions`` (traces
grouped by session id, the most recently active first, with counts, times, user, tokens and
failures; keyset pages) and ``GET /api/v1/traces/{id}/find`` (spans whose text holds a string)."""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Iterator

import pytest

import lanterna
from lanterna.testing.databases import store_uri  # noqa: F401
from lanterna.testing.server import RunningServer, running_server

from .httpcall import call


@pytest.fixture(scope="module")
def sessions_server(store_uri: str) -> Iterator[tuple[RunningServer, str]]:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    try:
        experiment = lanterna.set_experiment(f"sessions-{uuid.uuid4().hex[:6]}").experiment_id
        t0 = time.time_ns() - 100 * 1_000_000_000
        plan = [("s-a", "ana", "OK"), ("s-b", "ben", "ERROR"), ("s-a", "ana", "OK"),
                ("s-c", None, "OK"), ("s-b", "ben", "OK"), (None, None, "OK")]
        for n, (session, user, state) in enumerate(plan):
            metadata = {"mlflow.trace.session": session} if session else {}
            if user:
                metadata["mlflow.trace.user"] = user
            span = lanterna.start_span_no_context(
                f"turn-{n}", start_time_ns=t0 + n * 1_000_000_000, metadata=metadata)
            child = lanterna.start_span_no_context("lookup", parent_span=span,  # type: ignore[arg-type]
                                                   inputs={"city": f"Zürich-{n}"})
            child.end()
            span.set_attribute("mlflow.chat.tokenUsage",
                               {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
            span.end(status=state, end_time_ns=t0 + n * 1_000_000_000 + 1_000_000)
        lanterna.flush_trace_async_logging()
    finally:
        lanterna.set_tracking_uri(None)
    with running_server(store_uri) as server:
        yield server, experiment


def test_sessions_are_grouped_newest_first(sessions_server: tuple[RunningServer, str]) -> None:
    server, experiment = sessions_server
    reply = call("GET", f"{server.url}/api/v1/sessions?experiment_id={experiment}")
    assert reply.status == 200, reply
    data = reply.json()
    assert [s["session_id"] for s in data["sessions"]] == ["s-b", "s-c", "s-a"]
    b = data["sessions"][0]
    assert (b["trace_count"], b["user_id"], b["error_count"]) == (2, "ben", 1)
    assert b["first_timestamp_ms"] < b["last_timestamp_ms"]
    assert data["sessions"][2]["trace_count"] == 2
    assert data["next_page_token"] is None


def test_sessions_page_by_keyset(sessions_server: tuple[RunningServer, str]) -> None:
    server, experiment = sessions_server
    seen: list[str] = []
    token = ""
    while True:
        reply = call("GET", f"{server.url}/api/v1/sessions?experiment_id={experiment}"
                            f"&max_results=1&page_token={token}")
        assert reply.status == 200, reply
        page = reply.json()
        seen.extend(s["session_id"] for s in page["sessions"])
        token = page["next_page_token"]
        if not token:
            break
    assert seen == ["s-b", "s-c", "s-a"]
    bad = call("GET", f"{server.url}/api/v1/sessions?page_token=nonsense")
    assert bad.status == 400 and bad.json()["error"]["code"] == "INVALID_PARAMETER_VALUE"


def test_sessions_are_in_the_openapi_document(sessions_server: tuple[RunningServer, str]) -> None:
    server, _ = sessions_server
    document = call("GET", f"{server.url}/api/v1/openapi.json").json()
    assert "get" in document["paths"]["/api/v1/sessions"]
    assert "Session" in document["components"]["schemas"]


def test_find_spans_by_their_text(sessions_server: tuple[RunningServer, str]) -> None:
    server, experiment = sessions_server
    traces = call("GET", f"{server.url}/api/v1/traces?experiment_id={experiment}"
                         "&order_by=timestamp_ms%20ASC").json()["traces"]
    trace_id = traces[2]["info"]["trace_id"]
    skeleton = call("GET", f"{server.url}/api/v1/traces/{trace_id}/skeleton").json()
    lookup = skeleton["columns"]["span_id"][skeleton["columns"]["name"].index("lookup")]
    for text in ("zürich-2", "ZÜRICH", "lookup"):
        query = urllib.parse.quote(text)
        found = call("GET", f"{server.url}/api/v1/traces/{trace_id}/find?text={query}").json()
        assert found == {"span_ids": [lookup], "truncated": False}, text
    turn = call("GET", f"{server.url}/api/v1/traces/{trace_id}/find?text=turn-2").json()
    assert turn["span_ids"] == [skeleton["columns"]["span_id"][0]]
    assert call("GET", f"{server.url}/api/v1/traces/{trace_id}/find?text=nowhere").json()[
        "span_ids"] == []
    assert call("GET", f"{server.url}/api/v1/traces/{trace_id}/find").status == 400
    missing = call("GET", f"{server.url}/api/v1/traces/tr-{'0' * 32}/find?text=x")
    assert missing.status == 404
