"""Peak memory while a slow store falls behind: 100,000 single-span traces recorded as fast as
possible, lanterna (its SQLite store, each batch written 50 ms late) beside the OpenTelemetry SDK
(TracerProvider + BatchSpanProcessor with its default settings, an exporter that also takes
50 ms per batch). Each runs in a fresh interpreter; peak RSS above what the imports took, how
many spans each kept, and how long the flush after the last span took (``--delay 0``: how fast
a backlog drains into a store that keeps up).

    bash benchmarks/run.sh memory.py [--spans 100000] [--delay 0.05]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from typing import Any

INPUTS = {"question": "What is the capital of France?", "k": 3}
OUTPUTS = {"answer": "Paris", "sources": ["doc-1", "doc-2"]}


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_lanterna(spans: int, delay: float) -> dict[str, Any]:
    import lanterna
    from lanterna.store.sql.store import SqlStore

    original = SqlStore.write_batch

    def slow(self: SqlStore, batch: Any) -> None:
        time.sleep(delay)
        original(self, batch)

    SqlStore.write_batch = slow  # type: ignore[method-assign]
    lanterna.set_tracking_uri("sqlite:///memory-bench.db")
    with lanterna.start_span("warm-up"):
        pass
    lanterna.flush_trace_async_logging()
    base = _rss_mb()
    start = time.perf_counter()
    for _ in range(spans):
        with lanterna.start_span("op") as span:
            span.set_inputs(INPUTS)
            span.set_attributes({"model": "m", "temperature": 0.2})
            span.set_outputs(OUTPUTS)
    created = time.perf_counter() - start
    peak = _rss_mb()
    lanterna.flush_trace_async_logging()
    stats = lanterna.tracing.export_stats()
    return {"base_mb": base, "peak_mb": peak, "created_s": created,
            "drained_s": time.perf_counter() - start - created,
            "kept": stats["spans_exported"] - 1, "dropped": stats["spans_dropped"]}


def worker_otel(spans: int, delay: float) -> dict[str, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    exported = [0]

    class Slow(SpanExporter):
        def export(self, batch: Any) -> SpanExportResult:
            time.sleep(delay)
            exported[0] += len(batch)
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    processor = BatchSpanProcessor(Slow())  # its defaults: a queue of 2,048 spans
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")
    with tracer.start_as_current_span("warm-up"):
        pass
    processor.force_flush()
    base = _rss_mb()
    start = time.perf_counter()
    for _ in range(spans):
        with tracer.start_as_current_span("op") as span:
            span.set_attribute("inputs", json.dumps(INPUTS))
            span.set_attribute("model", "m")
            span.set_attribute("temperature", 0.2)
            span.set_attribute("outputs", json.dumps(OUTPUTS))
    created = time.perf_counter() - start
    peak = _rss_mb()
    processor.force_flush(timeout_millis=600_000)
    return {"base_mb": base, "peak_mb": peak, "created_s": created,
            "drained_s": time.perf_counter() - start - created, "kept": exported[0] - 1,
            "dropped": spans + 1 - exported[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        work = worker_lanterna if args.worker == "lanterna" else worker_otel
        print(json.dumps(work(args.spans, args.delay)))
        return
    print(f"peak memory, {args.spans:,} single-span traces, store/exporter {args.delay * 1000:.0f}"
          f" ms per batch (load average {os.getloadavg()[0]:.1f})\n")
    print(f"   {'':28} {'peak RSS above imports':>23} {'spans kept':>11} {'dropped':>8}"
          f" {'drained after':>14}")
    for label, kind in (("OpenTelemetry SDK (default)", "otel"), ("lanterna", "lanterna")):
        with tempfile.TemporaryDirectory() as cwd:
            result = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--worker", kind,
                 "--spans", str(args.spans), "--delay", str(args.delay)],
                cwd=cwd, capture_output=True, text=True, check=True,
            )
        r = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"   {label:28} {r['peak_mb'] - r['base_mb']:20.1f} MB {r['kept']:11d}"
              f" {r['dropped']:8d} {r['drained_s']:12.1f} s")


if __name__ == "__main__":
    main()
