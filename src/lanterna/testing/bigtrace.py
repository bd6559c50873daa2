"""Big traces written straight through a store, for the UI's browser tests and benchmark.

A trace of ``n`` spans shaped like a wide agent run: span ``k`` is a child of span
``(k - 1) // 10`` (ten children each, about five levels deep), types cycle through
CHAIN/TOOL/LLM/RETRIEVER/AGENT, every 997th span failed, inputs and outputs are small.
"""

from __future__ import annotations

import json
import time
import uuid

#: Spans written per store transaction.
CHUNK = 20_000


def write_big_trace(uri: str, n: int, name: str = "big-agent", experiment_id: str = "0") -> str:
    """Write the trace into the store at ``uri``; returns its id."""
    from lanterna.entities import Span, Trace, TraceInfo, TraceState
    from lanterna.entities.trace import TraceData
    from lanterna.store.batch import ExportBatch
    from lanterna.store.uri import get_store

    types = ("CHAIN", "TOOL", "LLM", "RETRIEVER", "AGENT")
    trace_id = f"tr-{uuid.uuid4().hex}"
    request = json.dumps(trace_id)
    t0 = time.time_ns()
    ids = [f"{k + 1:016x}" for k in range(n)]
    spans = [
        Span.from_dict({
            "trace_id": trace_id[3:], "span_id": ids[k],
            "parent_span_id": "" if k == 0 else ids[(k - 1) // 10],
            "name": name if k == 0 else f"step-{k}",
            "start_time_unix_nano": t0 + k * 1000,
            "end_time_unix_nano": t0 + (n * 1000 + 10_000 if k == 0 else k * 1000 + 5000),
            "status": {"code": "STATUS_CODE_ERROR" if k and k % 997 == 0 else "STATUS_CODE_OK",
                       "message": ""},
            "attributes": {
                "mlflow.traceRequestId": request,
                "mlflow.spanType": json.dumps("AGENT" if k == 0 else types[k % 5]),
                "mlflow.spanInputs": json.dumps({"k": k}),
                "mlflow.spanOutputs": json.dumps(f"result {k}"),
            },
            "events": [],
        })
        for k in range(n)
    ]
    info = TraceInfo(
        trace_id=trace_id, request_time=t0 // 1_000_000, state=TraceState.OK,
        execution_duration=n // 1000 + 1, request_preview='{"k": 0}',
        response_preview='"result 0"', trace_metadata={"mlflow.trace_schema.version": "3"},
        tags={"mlflow.traceName": name}, experiment_id=experiment_id,
    )
    store = get_store(uri)
    for start in range(0, n, CHUNK):
        batch = ExportBatch()
        batch.spans.extend(spans[start:start + CHUNK])
        if start + CHUNK >= n:
            batch.finished.append(Trace(info, TraceData(spans=spans)))
        store.write_batch(batch)
    return trace_id
