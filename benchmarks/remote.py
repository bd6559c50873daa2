"""The SDK's remote mode end to end: spans per second from the first span until the
program's flush returns, through a real ``lanterna server`` process, into SQLite and PostgreSQL.

Side by side, the same load (traces of 10 spans, one thread) made by:

* lanterna, remote mode (``set_tracking_uri("http://…")``): OTLP protobuf + REST to the server;
* lanterna, local mode into the same kind of database (what the network hop costs);
* the OpenTelemetry SDK (BatchSpanProcessor + OTLP/HTTP protobuf exporter) into the same server;
* MLflow 3 (``mlflow-skinny``) pointed at the same server (its remote mode, against lanterna's
  MLflow endpoints), when those endpoints answer.

Then the traces the server stored are counted: a peer that drops spans under load shows it.
Each case runs in a fresh interpreter; the server runs in its own process (1 worker).

    bash benchmarks/run.sh remote.py [--traces 3000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

SPANS_PER_TRACE = 10


# -- workers (run in a child interpreter) ---------------------------------------------------
def worker(system: str, uri: str, traces: int) -> dict[str, Any]:
    if system == "otel":
        return _worker_otel(uri, traces)
    if system == "mlflow":
        import mlflow as tracer
    else:
        import lanterna as tracer
    tracer.set_tracking_uri(uri)
    tracer.set_experiment(f"bench-{system}")
    with tracer.start_span("warm-up"):
        pass
    tracer.flush_trace_async_logging()
    start = time.perf_counter()
    for i in range(traces):
        with tracer.start_span("agent", span_type="AGENT") as root:
            root.set_inputs({"question": f"question {i}"})
            for j in range(SPANS_PER_TRACE - 1):
                with tracer.start_span(f"step-{j}", span_type="TOOL") as step:
                    step.set_inputs({"i": i, "j": j})
                    step.set_outputs(f"result {i}-{j}")
            root.set_outputs(f"answer {i}")
    created = time.perf_counter() - start
    tracer.flush_trace_async_logging()
    return {"created_s": created, "total_s": time.perf_counter() - start}


def _worker_otel(uri: str, traces: int) -> dict[str, Any]:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(
        endpoint=uri + "/v1/traces", headers={"x-lanterna-experiment-id": "0"})))
    tracer = provider.get_tracer("bench")
    start = time.perf_counter()
    for i in range(traces):
        with tracer.start_as_current_span("agent") as root:
            root.set_attribute("input.value", json.dumps({"question": f"question {i}"}))
            for j in range(SPANS_PER_TRACE - 1):
                with tracer.start_as_current_span(f"step-{j}") as step:
                    step.set_attribute("input.value", json.dumps({"i": i, "j": j}))
                    step.set_attribute("output.value", f"result {i}-{j}")
            root.set_attribute("output.value", f"answer {i}")
    created = time.perf_counter() - start
    provider.force_flush(timeout_millis=600_000)
    total = time.perf_counter() - start
    provider.shutdown()
    return {"created_s": created, "total_s": total}


# -- driver ------------------------------------------------------------------------------------
def run_worker(system: str, uri: str, traces: int, cwd: str) -> dict[str, Any] | str:
    env = {**os.environ, "LANTERNA_TRACKING_URI": ""}
    result = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", system, uri, str(traces)],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=1800, check=False,
    )
    if result.returncode != 0:
        return (result.stderr.strip().splitlines() or ["failed"])[-1][:200]
    answer: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return answer


def stored_traces(url: str) -> int:
    with urllib.request.urlopen(url + "/api/v1/experiments", timeout=60) as response:
        listed = json.loads(response.read())["experiments"]
    return sum(int(e["trace_count"]) for e in listed)


@contextmanager
def postgres_database(skip: bool) -> Iterator[str | None]:
    if skip:
        yield None
        return
    from lanterna.testing.databases import temporary_postgres_database

    try:
        with temporary_postgres_database("lanterna_bench_remote") as uri:
            yield uri
    except Exception as exc:  # no PostgreSQL here: report the SQLite half only
        print(f"(PostgreSQL unavailable: {exc})", file=sys.stderr)
        yield None


def measure(label: str, system: str, uri: str, traces: int, cwd: str,
            server_url: str | None) -> dict[str, Any]:
    before = stored_traces(server_url) if server_url else 0
    result = run_worker(system, uri, traces, cwd)
    if isinstance(result, str):
        print(f"{label:<44} failed: {result}")
        return {}
    spans = traces * SPANS_PER_TRACE
    kept = (stored_traces(server_url) - before - (1 if system != "otel" else 0)
            if server_url else traces)
    rate = spans / result["total_s"]
    print(f"{label:<44} {rate:>10,.0f} spans/s   caller {result['created_s']:6.2f} s   "
          f"stored {kept:>6,} / {traces:,} traces")
    return {"rate": rate, "kept": kept}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=3000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--worker", nargs=3, metavar=("SYSTEM", "URI", "TRACES"))
    args = parser.parse_args()
    if args.worker:
        system, uri, traces = args.worker
        print(json.dumps(worker(system, uri, int(traces))))
        return

    from lanterna.testing.server import running_server

    print(f"{args.traces:,} traces of {SPANS_PER_TRACE} spans, one thread, timed from the "
          "first span until flush returns; the server is one process (1 worker).\n")
    with tempfile.TemporaryDirectory() as directory, \
            postgres_database(args.skip_postgres) as postgres:
        backends = [("SQLite", f"sqlite:///{directory}/server.db")]
        if postgres:
            backends.append(("PostgreSQL", postgres))
        for name, backend in backends:
            local_uri = (f"sqlite:///{directory}/local.db" if name == "SQLite" else backend)
            results: dict[str, dict[str, Any]] = {}
            with running_server(backend) as server:
                results["remote"] = measure(f"lanterna remote mode -> server -> {name}",
                                            "lanterna", server.url, args.traces, directory,
                                            server.url)
                results["otel"] = measure(f"OpenTelemetry SDK OTLP/HTTP -> server -> {name}",
                                          "otel", server.url, args.traces, directory,
                                          server.url)
                results["mlflow"] = measure(f"MLflow 3 remote mode -> server -> {name}",
                                            "mlflow", server.url, args.traces, directory,
                                            server.url)
            results["local"] = measure(f"lanterna local mode -> {name} (no server)",
                                       "lanterna", local_uri, args.traces, directory, None)
            remote = results["remote"].get("rate")
            for peer in ("local", "otel", "mlflow"):
                if remote and results[peer].get("rate"):
                    print(f"  remote / {peer}: {remote / results[peer]['rate']:.2f}x")
            print()


if __name__ == "__main__":
    main()
