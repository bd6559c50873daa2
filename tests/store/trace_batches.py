"""Traces of three spans built directly (no tracing), for tests that write batches to a store."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from lanterna.entities import Span, Trace, TraceInfo, TraceState
from lanterna.entities.trace import TraceData
from lanterna.store.batch import ExportBatch


def traces_of(count: int, inputs: Callable[[int], str]) -> list[Trace]:
    """``count`` finished traces of three spans; ``inputs(i)``: the JSON inputs of trace i."""
    made = []
    for i in range(count):
        trace_id = f"tr-{uuid.uuid4().hex}"
        spans = [Span.from_dict({
            "trace_id": trace_id[3:], "span_id": f"{k:016x}",
            "parent_span_id": "" if k == 0 else f"{0:016x}", "name": f"step-{k}",
            "start_time_unix_nano": 1_700_000_000_000_000_000 + i * 1000 + k,
            "end_time_unix_nano": 1_700_000_000_000_000_000 + i * 1000 + k + 10,
            "status": {"code": "STATUS_CODE_OK", "message": ""},
            "attributes": {"mlflow.spanInputs": inputs(i)}, "events": [],
        }) for k in range(3)]
        made.append(Trace(TraceInfo(trace_id=trace_id, request_time=1_700_000_000_000,
                                    state=TraceState.OK), TraceData(spans=spans)))
    return made


def batch_of(traces: list[Trace]) -> ExportBatch:
    """One export batch finishing ``traces``, with all their spans."""
    batch = ExportBatch()
    for trace in traces:
        batch.spans.extend(trace.data.spans)
        batch.finished.append(trace)
    return batch
