"""OTLP ingest through a real server: lanterna on SQLite and PostgreSQL, and MLflow's server.

Several client processes POST OTLP/HTTP protobuf batches (traces of 10 spans, some carrying
GenAI chat attributes, the others MLflow's own keys) to ``/v1/traces`` over keep-alive
connections, as fast as the server answers. Reported per system: spans persisted per second
(counted in the database afterwards, from the first request sent to the last answer), and
p50/p99 request latency. Then, in this process on one thread, the same batches are decoded and
written straight to a fresh store, to show how much of a span's ingest time the store takes.

MLflow's server (``mlflow server``, full ``mlflow``, not the skinny client) is measured on the
same load when it is installed in this interpreter's environment (``.venv-bench``):

    .venv-bench/bin/pip install mlflow psycopg2-binary
    bash benchmarks/run.sh server_ingest.py [--clients 4] [--requests 40] [--spans 500]
        [--workers 2] [--skip-mlflow]

The machine's other load shifts every figure: the report prints the load average with them.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

POSTGRES = (os.environ.get("LANTERNA_TEST_POSTGRES_URL")
            or "postgresql://postgres@127.0.0.1:5432/test")
SPANS_PER_TRACE = 10


# -- the load ---------------------------------------------------------------------------------
def make_bodies(client: int, requests: int, spans: int) -> list[bytes]:
    """``requests`` serialised ExportTraceServiceRequests of ``spans`` spans each."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )

    messages = json.dumps([{"role": "user", "parts": [{"type": "text",
                                                       "content": "What is a lantern?"}]}])
    answer = json.dumps([{"role": "assistant", "finish_reason": "stop", "parts": [
        {"type": "text", "content": "A portable source of light, often with a handle."}]}])
    bodies = []
    start = time.time_ns()
    for r in range(requests):
        request = ExportTraceServiceRequest()
        resource = request.resource_spans.add()
        resource.resource.attributes.add(key="service.name").value.string_value = "bench"
        out = resource.scope_spans.add().spans
        for t in range(spans // SPANS_PER_TRACE):
            trace_id = uuid.uuid4().bytes
            root_id = os.urandom(8)
            for s in range(SPANS_PER_TRACE):
                span = out.add(trace_id=trace_id, span_id=root_id if s == 0 else os.urandom(8),
                               name="agent" if s == 0 else f"step-{s}",
                               start_time_unix_nano=start + s * 1000,
                               end_time_unix_nano=start + 5_000_000 - s * 1000)
                span.status.code = 1
                attributes = span.attributes
                if s:
                    span.parent_span_id = root_id
                if s % 3 == 1:  # a model call in GenAI's conventions
                    for key, value in (("gen_ai.operation.name", "chat"),
                                       ("gen_ai.request.model", "gpt-4o-mini"),
                                       ("gen_ai.input.messages", messages),
                                       ("gen_ai.output.messages", answer)):
                        attributes.add(key=key).value.string_value = value
                    attributes.add(key="gen_ai.usage.input_tokens").value.int_value = 12
                    attributes.add(key="gen_ai.usage.output_tokens").value.int_value = 30
                else:  # MLflow's own keys, native values as its OTLP exporter sends them
                    attributes.add(key="mlflow.spanType").value.string_value = (
                        "AGENT" if s == 0 else "TOOL")
                    inputs = attributes.add(key="mlflow.spanInputs").value.kvlist_value
                    item = inputs.values.add(key="question")
                    item.value.string_value = f"client {client} request {r} trace {t}"
                    attributes.add(key="mlflow.spanOutputs").value.string_value = f"result {s}"
        bodies.append(request.SerializeToString())
    return bodies


def client_process(url: str, headers: dict[str, str], bodies: list[bytes], ready: Any,
                   go: Any, results: Any, deadline_s: float) -> None:
    """Sends each body once, retrying 429/503 as OTLP exporters do; a dropped connection
    is reopened and counted as a failed request."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)

    def connect() -> http.client.HTTPConnection:
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)

    connection = connect()
    ready.set()
    go.wait()
    latencies, failures = [], 0
    begin = time.perf_counter()
    for body in bodies:
        if time.perf_counter() - begin > deadline_s:
            break
        started = time.perf_counter()
        status = 0
        for _attempt in range(20):
            try:
                connection.request("POST", "/v1/traces", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (http.client.HTTPException, OSError):
                connection.close()
                connection = connect()
                status = 0
                break
            if status in (429, 503):
                time.sleep(float(response.getheader("Retry-After") or 1))
                continue
            break
        if status != 200:
            failures += 1
        latencies.append(time.perf_counter() - started)
    results.put({"begin": begin, "end": time.perf_counter(), "latencies": latencies,
                 "failures": failures})


def drive(url: str, headers: dict[str, str], clients: int, requests: int,
          spans: int, deadline_s: float = 600) -> dict[str, Any]:
    context = multiprocessing.get_context("fork")
    ready = [context.Event() for _ in range(clients)]
    go = context.Event()
    results = context.Queue()
    processes = []
    for c in range(clients):
        bodies = make_bodies(c, requests, spans)
        process = context.Process(target=client_process,
                                  args=(url, headers, bodies, ready[c], go, results,
                                        deadline_s))
        process.start()
        processes.append(process)
    for event in ready:
        event.wait(60)
    go.set()
    outcome = [results.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join(60)
    latencies = sorted(x for o in outcome for x in o["latencies"]) or [float("nan")]
    seconds = max(o["end"] for o in outcome) - min(o["begin"] for o in outcome)
    return {
        "seconds": seconds,
        "requests": len(latencies),
        "failures": sum(o["failures"] for o in outcome),
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    }


# -- servers ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not start in {seconds} s")


@contextmanager
def serving(command: list[str], url: str, env: dict[str, str] | None = None) -> Iterator[None]:
    """Runs a server in its own process group, ended whole afterwards (MLflow's server starts
    job runners of its own)."""
    import signal

    process = subprocess.Popen(command, env={**os.environ, **(env or {})},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        wait_up(url, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def lanterna_server(uri: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "lanterna", "server", "--backend-store-uri", uri,
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]


@contextmanager
def postgres_database(prefix: str) -> Iterator[str]:
    """A throw-away database on the PostgreSQL server (``LANTERNA_TEST_POSTGRES_URL``)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(POSTGRES)
    try:
        yield (f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
               f"{info.get('port', 5432)}/{name}")
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def count_spans(uri: str) -> int:
    from sqlalchemy import create_engine, text

    url = uri.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM spans")).scalar_one())
    finally:
        engine.dispose()


def run_lanterna(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder, _database(engine, folder, "bench_ingest") as uri:
        with serving(lanterna_server(uri, port, args.workers), url):
            result = drive(url, {"Content-Type": "application/x-protobuf"}, args.clients,
                           args.requests, args.spans)
        result["stored"] = count_spans(uri)
    return result


@contextmanager
def _database(engine: str, folder: str, prefix: str) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{folder}/traces.db"
    else:
        with postgres_database(prefix) as uri:
            yield uri


def mlflow_command() -> str | None:
    """``mlflow`` beside this interpreter, when full MLflow (with its server) is installed."""
    candidate = os.path.join(os.path.dirname(sys.executable), "mlflow")
    if not os.path.exists(candidate):
        return None
    probe = subprocess.run([sys.executable, "-c", "import mlflow.server, flask"],
                           capture_output=True, check=False)
    return candidate if probe.returncode == 0 else None


def run_mlflow(command: str, engine: str, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder, _database(engine, folder, "bench_mlflow") as uri:
        store = uri if engine == "sqlite" else uri.replace("postgresql://",
                                                          "postgresql+psycopg2://", 1)
        server = [command, "server", "--backend-store-uri", store, "--host", "127.0.0.1",
                  "--port", str(port), "--workers", str(args.workers),
                  "--default-artifact-root", f"{folder}/artifacts"]
        with serving(server, url):
            result = drive(url, {"Content-Type": "application/x-protobuf",
                                 "x-mlflow-experiment-id": "0"},
                           args.clients, args.mlflow_requests or args.requests, args.spans)
        result["stored"] = count_spans(uri)
    return result


# -- where the time goes ----------------------------------------------------------------------
def in_process_split(engine: str, args: argparse.Namespace) -> dict[str, float]:
    """Decode vs store, one thread, the same batches: µs per span for each."""
    from lanterna.server.otlp import decode
    from lanterna.store.sql.store import SqlStore

    bodies = make_bodies(99, max(4, args.requests // 4), args.spans)
    with tempfile.TemporaryDirectory() as folder, _database(engine, folder, "bench_split") as uri:
        store = SqlStore(uri)
        store.log_spans("0", decode.from_protobuf(make_bodies(98, 1, 10)[0]).spans)  # warm up
        decoding = storing = 0.0
        count = 0
        for body in bodies:
            started = time.perf_counter()
            spans = decode.from_protobuf(body).spans
            decoded = time.perf_counter()
            store.log_spans("0", spans)
            storing += time.perf_counter() - decoded
            decoding += decoded - started
            count += len(spans)
        store.dispose()
    return {"decode_us": 1e6 * decoding / count, "store_us": 1e6 * storing / count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--requests", type=int, default=40, help="requests per client")
    parser.add_argument("--mlflow-requests", type=int, default=0,
                        help="requests per client for MLflow (default: the same)")
    parser.add_argument("--spans", type=int, default=500, help="spans per request")
    parser.add_argument("--workers", type=int, default=2, help="server processes")
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--skip-mlflow", action="store_true")
    args = parser.parse_args()
    engines = [e for e in args.engines.split(",") if e]
    total = args.clients * args.requests * args.spans
    print(f"OTLP/HTTP protobuf ingest: {args.clients} client processes x {args.requests} "
          f"requests x {args.spans} spans ({total:,} spans, traces of {SPANS_PER_TRACE}), "
          f"server with {args.workers} worker process(es); {os.cpu_count()} cores, "
          f"load average before: {os.getloadavg()[0]:.1f}")
    rows: list[tuple[str, dict[str, Any]]] = []
    for engine in engines:
        rows.append((f"lanterna, {engine}", run_lanterna(engine, args)))
        _print(*rows[-1])
    command = None if args.skip_mlflow else mlflow_command()
    if command is None and not args.skip_mlflow:
        print("MLflow server: skipped (full `mlflow` is not installed beside this interpreter; "
              "`.venv-bench/bin/pip install mlflow psycopg2-binary` adds it).")
    if command is not None:
        for engine in engines:
            if engine == "postgresql" and subprocess.run(
                    [sys.executable, "-c", "import psycopg2"], capture_output=True,
                    check=False).returncode:
                print("MLflow on PostgreSQL: skipped (psycopg2 is not installed).")
                continue
            rows.append((f"MLflow server, {engine}", run_mlflow(command, engine, args)))
            _print(*rows[-1])
    rates = dict((name, r["stored"] / r["seconds"]) for name, r in rows)
    for engine in engines:
        ours, theirs = rates.get(f"lanterna, {engine}"), rates.get(f"MLflow server, {engine}")
        if ours and theirs:
            print(f"lanterna / MLflow on {engine}: {ours / theirs:.1f}x spans persisted per s")
    for engine in engines:
        split = in_process_split(engine, args)
        share = split["store_us"] / (split["store_us"] + split["decode_us"])
        print(f"in process, one thread, {engine}: decode {split['decode_us']:.0f} us/span, "
              f"store {split['store_us']:.0f} us/span -> the store takes {share:.0%} of "
              "decode+store")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def _print(name: str, result: dict[str, Any]) -> None:
    rate = result["stored"] / result["seconds"]
    print(f"{name:28s} {rate:10,.0f} spans/s persisted ({result['stored']:,} stored in "
          f"{result['seconds']:.1f} s); request p50 {result['p50_ms']:.0f} ms, "
          f"p99 {result['p99_ms']:.0f} ms; {result['failures']} failed requests")


if __name__ == "__main__":
    main()
