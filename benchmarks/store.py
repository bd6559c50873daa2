"""The trace store beside MLflow's default local store and the database's own ceiling:
throughput, bursts, search latency, big traces.

1. Persisted per second: traces of 10 spans created as fast as possible by one thread, timed
   from the first span until flush returns, for lanterna on SQLite, lanterna on PostgreSQL and
   MLflow 3 (its default ``sqlite:///mlflow.db``); then the stored traces are counted. Each
   lanterna row has its **limit**: the very rows lanterna stored (already encoded), inserted
   again into empty copies of its tables with plain ``sqlite3``/``psycopg`` ``executemany``, one
   transaction per export batch: what the database takes from Python at best.
2. Burst: 2,000 traces of 10 spans, then flush; how many were stored whole.
3. Search: ``search_traces`` p50/p95 (100 results, spans included) over 100,000 stored traces
   for a status, a tag, a span-name and a full-text filter; and over 1,000,000 traces on
   SQLite (``--million``; the database is built once and kept in ``benchmarks/.cache/``). The
   database is filled with bulk writes through the store (``write_batch``), not through
   tracing, to keep the run short.
4. Big traces: ``get_trace`` of a 10,000-span trace, ``get_trace_skeleton`` of a 100,000-span
   trace (what the UI reads first), p50 of 5.

Each case runs in a fresh interpreter in its own temporary directory.

    bash benchmarks/run.sh store.py [--traces 5000] [--search-traces 100000] [--skip-mlflow]
                                    [--million] [--only persist,burst,search,big]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

POSTGRES = (os.environ.get("LANTERNA_TEST_POSTGRES_URL")
            or "postgresql://postgres@127.0.0.1:5432/test")
#: Where the 1,000,000-trace database is kept between runs (git ignores it).
CACHE = Path(__file__).resolve().parent / ".cache"
MILLION = 1_000_000
SEARCHES = {
    "status": "trace.status = 'ERROR'",
    "tag (1 in 1,000)": "tag.customer = 'c42'",
    "tag (1 in 4)": "tag.env = 'prod'",
    "span name": "span.name = 'tool-7'",
    "full text": "trace.text LIKE '%topic-123 %'",
}


# -- workers (run in a child interpreter) ---------------------------------------------------
def worker_persist(system: str, uri: str, traces: int) -> dict[str, Any]:
    if system == "mlflow":
        import mlflow as tracer  # the default local store: sqlite:///mlflow.db in the cwd
    else:
        import lanterna as tracer

        tracer.set_tracking_uri(uri)
    with tracer.start_span("warm-up"):
        pass
    tracer.flush_trace_async_logging()
    start = time.perf_counter()
    for i in range(traces):
        with tracer.start_span("agent", span_type="AGENT") as root:
            root.set_inputs({"question": f"question {i}"})
            for j in range(9):
                with tracer.start_span(f"step-{j}", span_type="TOOL") as step:
                    step.set_inputs({"i": i, "j": j})
                    step.set_outputs(f"result {i}-{j}")
            root.set_outputs("answer")
    created = time.perf_counter() - start
    tracer.flush_trace_async_logging()
    elapsed = time.perf_counter() - start
    found = tracer.search_traces(
        filter_string="trace.name = 'agent'", return_type="list", max_results=traces + 10
    ) if system == "mlflow" else tracer.search_traces(
        filter_string="trace.name = 'agent'", return_type="list"
    )
    whole = sum(1 for t in found if len(t.data.spans) == 10)
    result = {"elapsed": elapsed, "created": created, "stored": len(found), "whole": whole}
    if system != "mlflow":
        result["limit_elapsed"], result["limit_spans"] = _limit(uri)
    return result


def _limit(uri: str) -> tuple[float, int]:
    """The database's ceiling for the rows lanterna just stored: the same rows (read back as
    stored, already encoded) inserted into empty copies of the same tables, with the same
    indexes, by the plain driver's ``executemany``, one transaction per export batch (trace
    rows and tags with the spans of their batch). Returns (seconds, spans)."""
    from lanterna.settings import setting

    batch = int(setting("export_batch_size"))
    tables = ("spans", "traces", "trace_tags")
    if uri.startswith("sqlite"):
        import sqlite3

        connection: Any = sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        for table in tables:
            for (sql,) in connection.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND sql IS NOT NULL "
                "AND type IN ('table', 'index') ORDER BY type DESC", (table,)
            ).fetchall():
                sql = re.sub(r'^CREATE TABLE "?\w+"?', f"CREATE TABLE limit_{table}", sql)
                sql = re.sub(r'^CREATE (UNIQUE )?INDEX "?(\w+)"? ON "?\w+"?',
                             rf"CREATE \1INDEX limit_\2 ON limit_{table}", sql)
                connection.execute(sql)
        mark = "?"
    else:
        import psycopg

        connection = psycopg.connect(uri, autocommit=True)
        for table in tables:
            connection.execute(f"CREATE TABLE limit_{table} (LIKE {table} INCLUDING ALL)")
        mark = "%s"
    data: dict[str, list[tuple[Any, ...]]] = {}
    columns: dict[str, list[str]] = {}
    for table in tables:
        cursor = connection.execute(f"SELECT * FROM {table}")
        columns[table] = [d[0] for d in cursor.description if d[0] != "seq"]
        listed = ", ".join(f"{c}::text" if c == "metadata" and mark == "%s" else c
                           for c in columns[table])  # jsonb as text, as lanterna sends it
        data[table] = list(connection.execute(f"SELECT {listed} FROM {table}").fetchall())
    spans = data["spans"]
    per_trace = max(1, len(spans) // max(1, len(data["traces"])))
    traces_per_batch = max(1, batch // per_trace)
    statements = {
        t: f"INSERT INTO limit_{t} ({', '.join(columns[t])}) VALUES "
           f"({', '.join(mark for _ in columns[t])})" for t in tables
    }
    start = time.perf_counter()
    span_at = trace_at = tag_at = 0
    while span_at < len(spans):
        connection.execute("BEGIN")
        rows = {"spans": spans[span_at : span_at + batch],
                "traces": data["traces"][trace_at : trace_at + traces_per_batch],
                "trace_tags": data["trace_tags"][tag_at : tag_at + traces_per_batch]}
        for table in tables:
            if rows[table]:
                connection.cursor().executemany(statements[table], rows[table])
        connection.execute("COMMIT")
        span_at += batch
        trace_at += traces_per_batch
        tag_at += traces_per_batch
    elapsed = time.perf_counter() - start
    connection.close()
    return elapsed, len(spans)


def worker_search(uri: str, traces: int, rounds: int) -> dict[str, Any]:
    import lanterna
    from lanterna.store import uri as uris

    store = uris.get_store(uri)
    start = time.perf_counter()
    if traces > 100_000 and uri.startswith("sqlite"):
        _fill_by_copies(store, traces, 100_000)  # a cached database is filled once
    else:
        _fill(store, traces - store.count_traces())
    filled = time.perf_counter() - start
    store.maintain()  # SQLite: full-text index catches up; PostgreSQL: planner statistics
    indexed = time.perf_counter() - start - filled
    lanterna.set_tracking_uri(uri)
    results: dict[str, Any] = {"fill_s": filled, "index_s": indexed}
    for label, query in SEARCHES.items():
        row: dict[str, Any] = {}
        for spans in (True, False):
            times = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                found = lanterna.search_traces(filter_string=query, max_results=100,
                                               return_type="list", flush=False,
                                               include_spans=spans)
                times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            key = "" if spans else "info_"
            row[key + "p50"] = statistics.median(times)
            row[key + "p95"] = times[max(0, int(len(times) * 0.95) - 1)]
            row["found"] = len(found)
        results[label] = row
    return results


def worker_big(uri: str, spans: int, rounds: int) -> dict[str, Any]:
    """One trace of ``spans`` spans written through the store; get_trace and the skeleton."""
    from lanterna.entities import Span, Trace, TraceInfo, TraceState
    from lanterna.entities.trace import TraceData
    from lanterna.store import uri as uris
    from lanterna.store.batch import ExportBatch

    store = uris.get_store(uri)
    trace_id = f"tr-{uuid.uuid4().hex}"
    start = time.time_ns()
    root_id = uuid.uuid4().hex[:16]
    made = []
    for k in range(spans):
        made.append(Span.from_dict({
            "trace_id": trace_id[3:], "span_id": root_id if k == 0 else uuid.uuid4().hex[:16],
            "parent_span_id": "" if k == 0 else root_id, "name": f"step-{k % 100}",
            "start_time_unix_nano": start + k * 1000, "end_time_unix_nano": start + k * 1000 + 500,
            "status": {"code": "STATUS_CODE_OK", "message": ""},
            "attributes": {"mlflow.traceRequestId": json.dumps(trace_id),
                           "mlflow.spanType": json.dumps("TOOL"),
                           "mlflow.spanInputs": json.dumps({"query": f"question {k}", "k": 5}),
                           "mlflow.spanOutputs": json.dumps([f"doc {k}-{j}" for j in range(3)]),
                           "model": json.dumps("gpt-4o")},
            "events": [],
        }))
    info = TraceInfo(trace_id=trace_id, request_time=start // 1_000_000, state=TraceState.OK,
                     execution_duration=spans, trace_metadata={}, tags={})
    for at in range(0, spans, 5000):
        batch = ExportBatch()
        batch.spans.extend(made[at : at + 5000])
        if at + 5000 >= spans:
            batch.finished.append(Trace(info, TraceData(spans=made)))
        store.write_batch(batch)
    store.maintain()
    out: dict[str, Any] = {}
    for label, read in (("get_trace", store.get_trace), ("skeleton", store.get_trace_skeleton)):
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            found = read(trace_id)
            times.append((time.perf_counter() - t0) * 1000)
        assert found is not None
        out[label] = statistics.median(times)
    return out


def _fill_by_copies(store: Any, traces: int, base: int) -> None:
    """``traces`` traces on SQLite, fast: ``base`` written through the store, then copied in
    SQL under new ids and later times until there are enough (same mix of names, tags, words).
    The full-text index is then built by the store's own upkeep (``maintain``)."""
    have = store.count_traces()
    if have < base:
        _fill(store, base - have)
        have = base
    engine = store.engine()
    copy = 1
    while have < traces:
        with engine.begin() as connection:
            # Copies are named tr-XX_…: the underscore is literal (escaped) in every pattern.
            while connection.exec_driver_sql(
                "SELECT 1 FROM traces WHERE trace_id LIKE ? ESCAPE '!' LIMIT 1",
                (f"tr-{copy:02x}!_%",),
            ).first() is not None:
                copy += 1
            prefix, shift = f"tr-{copy:02x}_", copy * base * 1000
            connection.exec_driver_sql(
                "INSERT INTO traces SELECT ? || substr(trace_id, 7), experiment_id, "
                "timestamp_ms + ?, execution_time_ms, end_time_ms + ?, state, name, "
                "client_request_id, request_preview, response_preview, session_id, user_id, "
                "input_tokens, output_tokens, total_tokens, size_bytes, metadata FROM traces "
                "WHERE trace_id NOT LIKE 'tr-__!_%' ESCAPE '!'", (prefix, shift, shift))
            connection.exec_driver_sql(
                "INSERT INTO trace_tags SELECT ? || substr(trace_id, 7), key, value "
                "FROM trace_tags WHERE trace_id NOT LIKE 'tr-__!_%' ESCAPE '!'", (prefix,))
            columns = ("span_id, parent_span_id, name, type, status, status_message, "
                       "start_time_ns, end_time_ns, inputs, outputs, attributes, events, "
                       "links, search_text")
            shifted = columns.replace("start_time_ns", "start_time_ns + ?").replace(
                "end_time_ns", "end_time_ns + ?")
            connection.exec_driver_sql(
                f"INSERT INTO spans (trace_id, {columns}) SELECT ? || substr(trace_id, 7), "
                f"{shifted} FROM spans WHERE trace_id NOT LIKE 'tr-__!_%' ESCAPE '!'",
                (prefix, shift * 1_000_000, shift * 1_000_000))
        have += base
        copy += 1


def _fill(store: Any, traces: int) -> None:
    """``traces`` traces of 5 spans, written 1,000 traces per transaction."""
    from lanterna.entities import Span, Trace, TraceInfo, TraceState
    from lanterna.entities.trace import TraceData
    from lanterna.store.batch import ExportBatch

    base_ns = time.time_ns() - traces * 1_000_000_000
    envs = ("prod", "staging", "dev", "test")
    for chunk in range(0, traces, 1000):
        batch = ExportBatch()
        for i in range(chunk, min(chunk + 1000, traces)):
            trace_id = f"tr-{uuid.uuid4().hex}"
            start = base_ns + i * 1_000_000_000
            error = i % 20 == 0
            names = ("agent", "retrieve", "llm", f"tool-{i % 50}", "format")
            spans = []
            root_id = uuid.uuid4().hex[:16]
            for k, name in enumerate(names):
                attributes = {
                    "mlflow.spanType": json.dumps("AGENT" if k == 0 else "TOOL"),
                    "mlflow.spanInputs": json.dumps(
                        {"question": f"question {i} about topic-{i % 997} please"} if k == 0
                        else {"step": k, "i": i}),
                    "mlflow.spanOutputs": json.dumps(f"answer-{i} from {name}"),
                    "model": json.dumps("gpt-4o" if k == 2 else None),
                }
                spans.append(Span.from_dict({
                    "trace_id": trace_id[3:], "span_id": root_id if k == 0 else
                    uuid.uuid4().hex[:16], "parent_span_id": "" if k == 0 else root_id,
                    "name": name, "start_time_unix_nano": start + k * 1000,
                    "end_time_unix_nano": start + 50_000_000 + k * 1000,
                    "status": {"code": "STATUS_CODE_ERROR" if error and k == 0
                               else "STATUS_CODE_OK", "message": ""},
                    "attributes": {"mlflow.traceRequestId": json.dumps(trace_id),
                                   **attributes},
                    "events": [],
                }))
            info = TraceInfo(
                trace_id=trace_id, request_time=start // 1_000_000,
                state=TraceState.ERROR if error else TraceState.OK, execution_duration=50,
                request_preview=f"question {i}", response_preview=f"answer-{i}",
                trace_metadata={"mlflow.trace_schema.version": "3"},
                tags={"mlflow.traceName": "agent", "env": envs[i % 4],
                      "customer": f"c{i % 1000}"},
            )
            batch.spans.extend(spans)
            batch.finished.append(Trace(info, TraceData(spans=spans)))
        store.write_batch(batch)


# -- orchestration --------------------------------------------------------------------------
@contextmanager
def postgres_database() -> Iterator[str | None]:
    try:
        import psycopg
    except ImportError:
        yield None
        return
    name = f"lanterna_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as exc:
        print(f"(PostgreSQL unavailable: {exc})", file=sys.stderr)
        yield None
        return
    info = psycopg.conninfo.conninfo_to_dict(POSTGRES)
    try:
        yield (f"postgresql://{info.get('user', 'postgres')}@{info.get('host', '127.0.0.1')}:"
               f"{info.get('port', 5432)}/{name}")
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run_worker(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as cwd:
        full_env = {k: v for k, v in os.environ.items()
                    if not k.startswith(("LANTERNA_", "MLFLOW_"))}
        full_env.update(env or {})
        result = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", *args],
                                cwd=cwd, env=full_env, capture_output=True, text=True,
                                check=False)
    if result.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{result.stderr[-3000:]}")
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=5000, help="traces per throughput run")
    parser.add_argument("--mlflow-traces", type=int, default=100)
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--search-traces", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--skip-mlflow", action="store_true")
    parser.add_argument("--million", action="store_true",
                        help="also search 1,000,000 traces on SQLite (built once, cached)")
    parser.add_argument("--only", help="comma-separated: persist,burst,search,big")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "persist":
            out = worker_persist(rest[0], rest[1], int(rest[2]))
        elif kind == "big":
            out = worker_big(rest[0], int(rest[1]), int(rest[2]))
        else:
            out = worker_search(rest[0], int(rest[1]), int(rest[2]))
        print(json.dumps(out))
        return

    only = set(args.only.split(",")) if args.only else {"persist", "burst", "search", "big"}
    print(f"lanterna store benchmark  (python {sys.version.split()[0]}, {os.cpu_count()} cpus, "
          f"load average {os.getloadavg()[0]:.1f} at start)\n")
    with postgres_database() as pg_persist, postgres_database() as pg_burst:
        if "persist" in only:
            _persist(args, pg_persist)
        if "burst" in only:
            _burst(args, pg_burst)
    if "search" in only:
        _search(args)
    if "big" in only:
        _big(args)
    print("\nFor scale: MLflow 3.17 answers a 100-trace search over 10,000 traces in "
          "about 65 ms.")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def _persist(args: argparse.Namespace, pg_persist: str | None) -> None:
    systems = [("lanterna SQLite", "lanterna", "sqlite:///lanterna.db"),
               ("lanterna PostgreSQL", "lanterna", pg_persist)]
    if not args.skip_mlflow:
        systems.append(("MLflow 3 (sqlite)", "mlflow", "-"))
    print("1. persisted per second: traces of 10 spans, until flush returns; 'limit': the same "
          "rows, already encoded,\n   inserted by the plain driver's executemany, one "
          "transaction per export batch")
    print(f"   {'system':22} {'traces':>7} {'seconds':>8} {'spans/s':>9} {'traces/s':>9}"
          f" {'stored whole':>13} {'limit spans/s':>14} {'of limit':>9}")
    for label, system, uri in systems:
        if uri is None:
            print(f"   {label:22} skipped (no PostgreSQL)")
            continue
        n = args.mlflow_traces if system == "mlflow" else args.traces
        r = run_worker("persist", system, uri, str(n))
        rate = n * 10 / r["elapsed"]
        line = (f"   {label:22} {n:7d} {r['elapsed']:8.2f} {rate:9.0f}"
                f" {n / r['elapsed']:9.0f} {r['whole']:7d}/{n}")
        if "limit_elapsed" in r:
            limit = r["limit_spans"] / r["limit_elapsed"]
            line += f" {limit:14.0f} {rate / limit:9.2f}"
        print(line)


def _burst(args: argparse.Namespace, pg_burst: str | None) -> None:
    print(f"\n2. burst: {args.burst} traces of 10 spans as fast as possible, then flush")
    bursts = [("lanterna SQLite", "lanterna", "sqlite:///lanterna.db"),
              ("lanterna PostgreSQL", "lanterna", pg_burst)]
    if not args.skip_mlflow:
        bursts.append(("MLflow 3 (sqlite)", "mlflow", "-"))
    for label, system, uri in bursts:
        if uri is None:
            continue
        r = run_worker("persist", system, uri, str(args.burst))
        print(f"   {label:22} stored whole {r['whole']:5d} of {args.burst}"
              f"  (created in {r['created']:.2f} s, flushed by {r['elapsed']:.2f} s)")


def _search(args: argparse.Namespace) -> None:
    print(f"\n3. search_traces, 100 results with their spans (and without: infos only), "
          f"{args.rounds} rounds; traces of 5 spans")
    with postgres_database() as pg_search:
        cases = [(f"lanterna SQLite, {args.search_traces:,} traces", "sqlite:///search.db",
                  args.search_traces),
                 (f"lanterna PostgreSQL, {args.search_traces:,} traces", pg_search,
                  args.search_traces)]
        if args.million:
            cache = CACHE / f"search-{MILLION}.db"
            CACHE.mkdir(exist_ok=True)
            cases.append((f"lanterna SQLite, {MILLION:,} traces (cached)",
                          f"sqlite:///{cache}", MILLION))
        for label, uri, count in cases:
            if uri is None:
                continue
            r = run_worker("search", uri, str(count), str(args.rounds))
            print(f"   {label}: filled in {r['fill_s']:.1f} s, index/statistics "
                  f"{r['index_s']:.1f} s")
            for query_label in SEARCHES:
                q = r[query_label]
                print(f"     {query_label:18} p50 {q['p50']:6.1f} ms   p95 {q['p95']:6.1f} ms"
                      f"   | infos only: p50 {q['info_p50']:5.1f} ms  p95 {q['info_p95']:5.1f} ms"
                      f"   ({q['found']} found)")


def _big(args: argparse.Namespace) -> None:
    print("\n4. big traces, p50 of 5: get_trace of a 10,000-span trace (target 100 ms), the "
          "skeleton of a 100,000-span trace (target 300 ms)")
    with postgres_database() as pg_big:
        for label, uri in (("lanterna SQLite", "sqlite:///big.db"),
                           ("lanterna PostgreSQL", pg_big)):
            if uri is None:
                continue
            small = run_worker("big", uri, "10000", "5")
            print(f"   {label:22} get_trace 10,000 spans  p50 {small['get_trace']:7.1f} ms"
                  f"   (its skeleton {small['skeleton']:6.1f} ms)")
            if uri.startswith("sqlite"):
                uri = "sqlite:///big-100k.db"
            large = run_worker("big", uri, "100000", "5")
            print(f"   {label:22} skeleton 100,000 spans  p50 {large['skeleton']:7.1f} ms"
                  f"   (get_trace {large['get_trace']:6.1f} ms)")

if __name__ == "__main__":
    main()
