"""Caller-thread cost per span: lanterna against the OpenTelemetry SDK and MLflow tracing.

One process run measures, side by side: a bare call, a ContextVar set/reset, the OpenTelemetry
SDK (TracerProvider + BatchSpanProcessor + a discarding exporter), MLflow tracing (its default
local store) and lanterna (its default store), each recording single-span traces with two
attributes, inputs and outputs; then 100-span nested traces; then import times.

    bash benchmarks/run.sh overhead.py [--spans 20000]
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

INPUTS = {"question": "What is the capital of France?", "k": 3}
OUTPUTS = {"answer": "Paris", "sources": ["doc-1", "doc-2"]}


def timed(run: Callable[[int], None], count: int, rounds: int = 5) -> tuple[float, float]:
    """Median µs per iteration over ``rounds`` runs of ``count`` iterations: wall-clock time,
    and CPU time of the calling thread alone (what tracing costs the caller, excluding the
    export threads, which on a multi-core machine run beside it)."""
    run(max(count // 10, 100))  # warm up
    walls, cpus = [], []
    for _ in range(rounds):
        start, cpu = time.perf_counter(), time.thread_time()
        run(count)
        cpus.append((time.thread_time() - cpu) / count * 1e6)
        walls.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(walls), statistics.median(cpus)


def bare(count: int) -> None:
    def work(x: dict[str, object]) -> dict[str, object]:
        return OUTPUTS

    for _ in range(count):
        work(INPUTS)


VAR: contextvars.ContextVar[object] = contextvars.ContextVar("v", default=None)


def contextvar(count: int) -> None:
    for _ in range(count):
        VAR.reset(VAR.set(1))


def otel_case() -> tuple[Callable[[int], None], Callable[[int], None], Callable[[], None]]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )

    class Discard(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    processor = BatchSpanProcessor(Discard(), max_queue_size=2_000_000)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("bench")

    def single(count: int) -> None:
        for _ in range(count):
            with tracer.start_as_current_span("op") as span:
                span.set_attribute("inputs", json.dumps(INPUTS))
                span.set_attribute("model", "m")
                span.set_attribute("temperature", 0.2)
                span.set_attribute("outputs", json.dumps(OUTPUTS))

    def nested(count: int) -> None:
        for _ in range(count):
            with tracer.start_as_current_span("root"):
                for _ in range(9):
                    with tracer.start_as_current_span("step"):
                        for _ in range(10):
                            with tracer.start_as_current_span("leaf") as s:
                                s.set_attribute("i", 1)
                with tracer.start_as_current_span("last"):
                    pass

    return single, nested, lambda: processor.force_flush()


def fluent_case(module: object) -> tuple[Callable[[int], None], Callable[[int], None],
                                         Callable[[], None]]:
    """The same code for MLflow and lanterna: they share the fluent API."""
    start_span = module.start_span  # type: ignore[attr-defined]

    def single(count: int) -> None:
        for _ in range(count):
            with start_span("op") as span:
                span.set_inputs(INPUTS)
                span.set_attributes({"model": "m", "temperature": 0.2})
                span.set_outputs(OUTPUTS)

    def nested(count: int) -> None:
        for _ in range(count):
            with start_span("root"):
                for _ in range(9):
                    with start_span("step"):
                        for _ in range(10):
                            with start_span("leaf") as s:
                                s.set_attribute("i", 1)
                with start_span("last"):
                    pass

    return single, nested, module.flush_trace_async_logging  # type: ignore[attr-defined]


def import_ms(statement: str, runs: int = 15) -> float:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", statement], env=env, check=True)  # write .pyc
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], env=env, check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--otlp-traces", type=int, default=5_000)
    parser.add_argument("--only-otel-interop", action="store_true")
    args = parser.parse_args()
    if args.only_otel_interop:
        otel_interop(args)
        return
    workdir = tempfile.mkdtemp(prefix="lanterna-bench-")
    os.chdir(workdir)  # both MLflow and lanterna write their default SQLite store here

    import lanterna

    rows: dict[str, tuple[tuple[float, float], tuple[float, float] | None]] = {}
    rows["bare function call"] = (timed(bare, args.spans), None)
    rows["ContextVar set/reset"] = (timed(contextvar, args.spans), None)
    cases: list[tuple[str, tuple[Callable[[int], None], Callable[[int], None],
                                 Callable[[], None]]]] = [
        ("OpenTelemetry SDK", otel_case()),
        ("lanterna", fluent_case(lanterna)),
    ]
    if not args.skip_mlflow:
        import mlflow

        mlflow.set_tracking_uri(f"sqlite:///{workdir}/mlflow.db")
        cases.insert(1, ("MLflow " + mlflow.__version__, fluent_case(mlflow)))
    nested_count = max(args.spans // 100, 20)
    for label, (single, nested, flush) in cases:
        one = timed(single, args.spans if "MLflow" not in label else args.spans // 10)
        flush()
        wall, cpu = timed(nested, nested_count if "MLflow" not in label
                          else max(nested_count // 10, 5), rounds=3)
        many = (wall / 100, cpu / 100)
        flush()
        rows[label] = (one, many)

    otel_single, otel_nested = rows["OpenTelemetry SDK"]
    assert otel_nested is not None
    print(f"\nµs per span ({args.spans} single-span traces; {nested_count} traces of 100 "
          "nested spans). cpu = CPU time of the calling thread; wall = elapsed time, which also "
          "pays for export threads competing for the GIL.\n")
    print(f"{'':22} {'cpu':>8} {'×OTel':>6} {'wall':>8} {'×OTel':>6}   "
          f"{'100-span cpu':>12} {'×OTel':>6} {'wall':>8} {'×OTel':>6}")
    for label, ((wall, cpu), many) in rows.items():
        line = (f"{label:22} {cpu:8.2f} {cpu / otel_single[1]:6.2f} {wall:8.2f} "
                f"{wall / otel_single[0]:6.2f}")
        if many is not None:
            line += (f"   {many[1]:12.2f} {many[1] / otel_nested[1]:6.2f} {many[0]:8.2f} "
                     f"{many[0] / otel_nested[0]:6.2f}")
        print(line)
    mlflow_rows = [v for k, v in rows.items() if k.startswith("MLflow")]
    if mlflow_rows:
        ours = rows["lanterna"][0]
        cpu_ratio = mlflow_rows[0][0][1] / ours[1]
        wall_ratio = mlflow_rows[0][0][0] / ours[0]
        print(f"\nlanterna is {cpu_ratio:.0f}× cheaper than MLflow per single-span trace in "
              f"caller CPU, {wall_ratio:.0f}× in wall time")

    print("\nimport time (median of 15 fresh interpreters, ms)")
    base = import_ms("pass")
    print(f"  python -c pass          {base:7.1f}")
    ours = import_ms("import lanterna")
    print(f"  import lanterna         {ours:7.1f}   (+{ours - base:.1f})")
    if not args.skip_mlflow:
        theirs = import_ms("import mlflow", runs=5)
        print(f"  import mlflow           {theirs:7.1f}   (+{theirs - base:.1f})")
    otel_interop(args)


def otel_interop(args: argparse.Namespace) -> None:
    """OTel span capture cost and OTLP export throughput (benchmarks/otel_interop.py)."""
    os.environ["LANTERNA_TRACKING_URI"] = "memory://"
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import otel_interop

    otel_interop.report(timed, args.spans, args.otlp_traces)


if __name__ == "__main__":
    main()
