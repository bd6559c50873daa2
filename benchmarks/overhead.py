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


def timed(run: Callable[[int], None], count: int, rounds: int = 5) -> float:
    """Median µs per iteration over ``rounds`` runs of ``count`` iterations."""
    run(max(count // 10, 100))  # warm up
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        run(count)
        samples.append((time.perf_counter() - start) / count * 1e6)
    return statistics.median(samples)


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
        BatchSpanProcessor, SpanExporter, SpanExportResult,
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
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="lanterna-bench-")
    os.chdir(workdir)  # both MLflow and lanterna write their default SQLite store here

    import lanterna

    rows: dict[str, tuple[float, float | None]] = {}
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
        many = timed(nested, nested_count if "MLflow" not in label else max(nested_count // 10, 5),
                     rounds=3) / 100
        flush()
        rows[label] = (one, many)

    otel_single, otel_nested = rows["OpenTelemetry SDK"]
    assert otel_nested is not None
    print(f"\nµs per span on the caller's thread ({args.spans} single-span traces; "
          f"{nested_count} traces of 100 nested spans)\n")
    print(f"{'':24} {'single-span':>12} {'× OTel':>8}   {'100-span':>10} {'× OTel':>8}")
    for label, (one, many) in rows.items():
        ratio = f"{one / otel_single:8.2f}"
        nested_text = f"{many:10.2f} {many / otel_nested:8.2f}" if many is not None else ""
        print(f"{label:24} {one:12.2f} {ratio}   {nested_text}")
    mlflow_rows = [v for k, v in rows.items() if k.startswith("MLflow")]
    if mlflow_rows:
        print(f"\nlanterna is {mlflow_rows[0][0] / rows['lanterna'][0]:.0f}× cheaper than MLflow "
              "per single-span trace")

    print("\nimport time (median of 15 fresh interpreters, ms)")
    base = import_ms("pass")
    print(f"  python -c pass          {base:7.1f}")
    ours = import_ms("import lanterna")
    print(f"  import lanterna         {ours:7.1f}   (+{ours - base:.1f})")
    if not args.skip_mlflow:
        theirs = import_ms("import mlflow", runs=5)
        print(f"  import mlflow           {theirs:7.1f}   (+{theirs - base:.1f})")


if __name__ == "__main__":
    main()
