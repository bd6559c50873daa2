"""OpenTelemetry interop figures for ``overhead.py``: what capturing OTel spans with
``lanterna.otel.SpanProcessor`` adds to the caller, and OTLP export throughput against the OTel
SDK's own OTLP exporter, both to a loopback receiver in another process.

    bash benchmarks/run.sh overhead.py --only-otel-interop
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

INPUTS = json.dumps({"question": "What is the capital of France?", "k": 3})
OUTPUTS = json.dumps({"answer": "Paris", "sources": ["doc-1", "doc-2"]})


def capture_rows(timed: Callable[..., tuple[float, float]], spans: int) -> list[str]:
    """Caller cost of an OTel span: the SDK with a BatchSpanProcessor alone, then with
    lanterna's SpanProcessor added (lanterna's pipeline stores nothing: memory://)."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    import lanterna
    import lanterna.otel

    class Discard(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    def case(with_lanterna: bool) -> tuple[Callable[[int], None], Callable[[], None]]:
        provider = TracerProvider()
        batch = BatchSpanProcessor(Discard(), max_queue_size=2_000_000)
        provider.add_span_processor(batch)
        if with_lanterna:
            provider.add_span_processor(lanterna.otel.SpanProcessor())
        tracer = provider.get_tracer("bench")

        def run(count: int) -> None:
            for _ in range(count):
                with tracer.start_as_current_span("llm") as span:
                    span.set_attribute("openinference.span.kind", "LLM")
                    span.set_attribute("input.value", INPUTS)
                    span.set_attribute("llm.model_name", "m")
                    span.set_attribute("output.value", OUTPUTS)

        def flush() -> None:
            batch.force_flush()
            lanterna.flush_trace_async_logging()

        return run, flush

    rows = []
    results = {}
    for label, with_lanterna in (("OTel SDK + BatchSpanProcessor", False),
                                 ("  + lanterna.otel.SpanProcessor", True)):
        run, flush = case(with_lanterna)
        results[label] = timed(run, spans)
        flush()
    (base_wall, base_cpu), (ours_wall, ours_cpu) = results.values()
    for label, (wall, cpu) in results.items():
        rows.append(f"  {label:34} cpu {cpu:7.2f} µs   wall {wall:7.2f} µs")
    rows.append(f"  capture adds {(ours_cpu - base_cpu) / base_cpu:.2f}× the SDK's caller CPU per "
                f"span ({(ours_wall - base_wall) / base_wall:.2f}× wall); target ≤ 0.50×")
    return rows


# -- OTLP export throughput ---------------------------------------------------------------------
class Receiver:
    """An OTLP/HTTP receiver counting the spans it decodes (runs in the benchmark's process; the
    exporters run in child processes)."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.spans = 0
        self.last = 0.0
        lock = threading.Lock()
        ok = ExportTraceServiceResponse().SerializeToString()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                request = ExportTraceServiceRequest()
                request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
                count = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
                with lock:
                    receiver.spans += count
                    receiver.last = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(ok)))
                self.end_headers()
                self.wfile.write(ok)

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"

    def reset(self) -> None:
        self.spans, self.last = 0, 0.0


CHILD = r'''
import json, os, sys, time
which, url, traces = sys.argv[1], sys.argv[2], int(sys.argv[3])
INPUTS = {"question": "What is the capital of France?", "k": 3}
OUTPUTS = {"answer": "Paris", "sources": ["doc-1", "doc-2"]}
if which == "lanterna":
    os.environ.update(LANTERNA_OTLP_ENDPOINT=url, LANTERNA_EXPORT_TO="otlp")
    import lanterna
    def one():
        with lanterna.start_span("root") as root:
            root.set_inputs(INPUTS)
            for _ in range(9):
                with lanterna.start_span("step", span_type="TOOL") as s:
                    s.set_inputs(INPUTS)
                    s.set_outputs(OUTPUTS)
            root.set_outputs(OUTPUTS)
    def finish():
        from lanterna.export import setup
        setup.flush(120)
        stats = lanterna.tracing.export_stats()
        return stats["spans_dropped"]
else:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    provider = TracerProvider()
    processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=url))  # the SDK's defaults
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    inputs, outputs = json.dumps(INPUTS), json.dumps(OUTPUTS)
    def one():
        with tracer.start_as_current_span("root") as root:
            root.set_attribute("input.value", inputs)
            for _ in range(9):
                with tracer.start_as_current_span("step") as s:
                    s.set_attribute("input.value", inputs)
                    s.set_attribute("output.value", outputs)
            root.set_attribute("output.value", outputs)
    def finish():
        processor.force_flush(120_000)
        provider.shutdown()
        return None
start = time.perf_counter()
for _ in range(traces):
    one()
produced = time.perf_counter()
dropped = finish()
print(json.dumps({"start": start, "produced": produced - start, "dropped": dropped}))
'''


def throughput_rows(traces: int) -> list[str]:
    receiver = Receiver()
    rows = []
    rates = {}
    for label in ("lanterna", "otel"):
        receiver.reset()
        began = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, label, receiver.url, str(traces)],
                             capture_output=True, text=True, check=True,
                             env={k: v for k, v in os.environ.items()
                                  if not k.startswith(("LANTERNA_", "OTEL_"))})
        result = json.loads(out.stdout.strip().splitlines()[-1])
        sent = traces * 10
        delivered = receiver.spans
        elapsed = max(receiver.last - began, 1e-9) if delivered else float("nan")
        rates[label] = delivered / elapsed if delivered else 0.0
        dropped = sent - delivered
        name = "lanterna OTLP exporter" if label == "lanterna" else "OTel SDK OTLPSpanExporter"
        rows.append(f"  {name:28} delivered {delivered:7d}/{sent}  dropped {dropped:6d}  "
                    f"{rates[label]:9.0f} spans/s (process start to last span received; "
                    f"producing took {result['produced']:.2f} s)")
    rows.append(f"  lanterna delivers {rates['lanterna'] / max(rates['otel'], 1e-9):.2f}× the OTel "
                "exporter's rate")
    receiver.server.shutdown()
    return rows


def report(timed: Callable[..., tuple[float, float]], spans: int, traces: int) -> None:
    print("\nOpenTelemetry interop: caller cost of one OTel span with 4 attributes "
          f"({spans} single-span traces; median of 5 rounds)")
    for row in capture_rows(timed, spans):
        print(row)
    print(f"\nOTLP/HTTP export to a loopback receiver: {traces} traces of 10 spans, produced "
          "as fast as possible (the SDK exporter with its default BatchSpanProcessor)")
    for row in throughput_rows(traces):
        print(row)
