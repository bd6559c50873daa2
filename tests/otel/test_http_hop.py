"""An HTTP hop instrumented by OpenTelemetry on both sides (``requests`` on the client, the WSGI
middleware on the server, in another process), with lanterna spans on both sides, makes one
trace in lanterna's store (issue 14, acceptance 4)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.instrumentation.requests")
pytest.importorskip("opentelemetry.instrumentation.wsgi")

import requests  # noqa: E402
from opentelemetry.instrumentation.requests import RequestsInstrumentor  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)

import lanterna  # noqa: E402
import lanterna.otel  # noqa: E402
from conftest import ROOT  # noqa: E402

SERVER = '''
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace import TracerProvider

import lanterna, lanterna.otel

lanterna.set_tracking_uri(sys.argv[1])
provider = TracerProvider()
provider.add_span_processor(lanterna.otel.SpanProcessor())

def app(environ, start_response):
    if environ["PATH_INFO"] == "/quit":
        server.quitting = True
    else:
        with lanterna.start_span("lookup", span_type="RETRIEVER") as span:
            span.set_inputs({"path": environ["PATH_INFO"]})
            span.set_outputs(["doc-1"])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]

class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass

server = make_server("127.0.0.1", 0, OpenTelemetryMiddleware(app, tracer_provider=provider),
                     handler_class=Quiet)
server.quitting = False
print(server.server_port, flush=True)
while not server.quitting:
    server.handle_request()
'''


def test_an_instrumented_http_hop_makes_one_trace(tmp_path: Path) -> None:
    uri = f"sqlite:///{tmp_path / 'lanterna.db'}"
    script = tmp_path / "server.py"
    script.write_text(SERVER)
    server = subprocess.Popen(
        [sys.executable, str(script), uri], stdout=subprocess.PIPE, text=True, cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
    )
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    provider.add_span_processor(lanterna.otel.SpanProcessor())
    instrumentor = RequestsInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    lanterna.set_tracking_uri(uri)
    try:
        assert server.stdout is not None
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"

        @lanterna.trace(span_type="AGENT")
        def agent() -> str | None:
            assert requests.get(f"{base}/docs", timeout=10).status_code == 200
            return lanterna.get_active_trace_id()

        trace_id = agent()
        requests.get(f"{base}/quit", timeout=10)
        assert server.wait(timeout=60) == 0
        lanterna.flush_trace_async_logging()
        # Read from the store: the in-process cache only knows this process's part.
        found = lanterna.search_traces(return_type="list")
        assert len(found) == 2  # this trace and the /quit call's
        stored = next(t for t in found if t.info.trace_id == trace_id)
        names = {s.span_id: s.name for s in stored.data.spans}
        parents = {s.name: names.get(s.parent_id) if s.parent_id else None
                   for s in stored.data.spans}
        assert parents == {"agent": None, "GET": "agent", "GET /docs": "GET",
                           "lookup": "GET /docs"}
        assert {s.trace_id for s in stored.data.spans} == {trace_id}
        assert stored.info.state == "OK"
        assert [s.name for s in exporter.get_finished_spans()] == ["GET", "GET"]
    finally:
        instrumentor.uninstrument()
        provider.shutdown()
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()
        lanterna.flush_trace_async_logging()
        lanterna.set_tracking_uri("memory://")
