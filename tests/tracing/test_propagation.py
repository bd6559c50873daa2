"""W3C trace context across a real HTTP hop on loopback (SPEC §1, tracing.*_http_request_*)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

import lanterna
from lanterna.testing.pytest_plugin import TracesRecorded
from lanterna.tracing.propagation import parse_traceparent


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        with (
            lanterna.tracing.set_tracing_context_from_http_request_headers(self.headers),
            lanterna.start_span("handle_request", span_type="TOOL") as span,
        ):
            span.set_inputs({"path": self.path})
            body = json.dumps({"trace_id": span.trace_id}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture
def server_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_trace_continues_across_an_http_call(
    traces: TracesRecorded, server_url: str
) -> None:
    assert lanterna.tracing.get_tracing_context_headers_for_http_request() == {}
    with lanterna.start_span("call_service") as client_span:
        headers = lanterna.tracing.get_tracing_context_headers_for_http_request()
        request = urllib.request.Request(f"{server_url}/lookup", headers=headers)
        with urllib.request.urlopen(request, timeout=10) as response:
            remote = json.loads(response.read())
    assert headers["traceparent"] == (
        f"00-{client_span.trace_id[3:]}-{client_span.span_id}-01")
    assert remote["trace_id"] == client_span.trace_id
    trace = lanterna.get_trace(client_span.trace_id)
    assert trace is not None
    spans = {s.name: s for s in trace.data.spans}
    assert spans["handle_request"].parent_id == client_span.span_id
    assert spans["handle_request"].inputs == {"path": "/lookup"}
    assert trace.info.tags["mlflow.traceName"] == "call_service"  # the true root's info


def test_bad_or_missing_headers_start_a_new_trace(
    traces: TracesRecorded, caplog: pytest.LogCaptureFixture
) -> None:
    for headers in ({}, {"traceparent": "garbage"}, {"TraceParent": "00-" + "0" * 32 + "-1-01"}):
        with (
            lanterna.tracing.set_tracing_context_from_http_request_headers(headers),
            lanterna.start_span("fresh") as span,
        ):
            assert span.parent_id is None
    assert caplog.text.count("malformed traceparent") == 2
    not_sampled = "00-" + "a" * 32 + "-" + "b" * 16 + "-00"
    with (
        lanterna.tracing.set_tracing_context_from_http_request_headers(
            {"traceparent": not_sampled}),
        lanterna.start_span("dropped") as span,
    ):
        assert span.trace_id == "MLFLOW_NO_OP_SPAN_TRACE_ID"  # the caller chose not to sample
    parsed = parse_traceparent("00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    assert parsed is not None and parsed.trace_id == "tr-" + "a" * 32 and parsed.sampled


def test_the_store_keeps_the_roots_info_whichever_part_is_written_last(tmp_path: Path) -> None:
    lanterna.set_tracking_uri(f"sqlite:///{tmp_path}/t.db")
    try:
        with lanterna.start_span("root_process") as root:
            headers = lanterna.tracing.get_tracing_context_headers_for_http_request()
        lanterna.flush_trace_async_logging()  # the root's part is written first
        with (
            lanterna.tracing.set_tracing_context_from_http_request_headers(headers),
            lanterna.start_span("late_part") as part,
        ):
            part.set_status("ERROR")
        lanterna.flush_trace_async_logging()
        lanterna.export.setup.memory.clear()  # read what the store kept
        stored = lanterna.get_trace(root.trace_id)
        assert stored is not None
        assert {s.name for s in stored.data.spans} == {"root_process", "late_part"}
        assert stored.info.tags["mlflow.traceName"] == "root_process"
        assert stored.info.state == "OK"
    finally:
        lanterna.set_tracking_uri(None)
