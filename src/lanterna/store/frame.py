"""``search_traces`` results as a pandas DataFrame, with MLflow 3's columns."""

from __future__ import annotations

from typing import Any

from lanterna.entities._values import decode_attribute
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceMetadataKey

COLUMNS = (
    "trace_id", "trace", "client_request_id", "state", "request_time", "execution_duration",
    "request", "response", "trace_metadata", "tags", "spans", "assessments",
)


def traces_to_frame(traces: list[Trace]) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "search_traces(return_type='pandas') needs pandas: pip install 'lanterna[pandas]' "
            "(or pass return_type='list')."
        ) from exc
    return pd.DataFrame([_row(t) for t in traces], columns=list(COLUMNS))


def _row(trace: Trace) -> dict[str, Any]:
    info = trace.info
    root = next((s for s in trace.data.spans if s.parent_id is None), None)
    if root is not None:
        request, response = root.inputs, root.outputs
    else:  # no spans loaded: the (possibly cut) copies kept in the metadata
        request = decode_attribute(info.trace_metadata.get(TraceMetadataKey.INPUTS))
        response = decode_attribute(info.trace_metadata.get(TraceMetadataKey.OUTPUTS))
    return {
        "trace_id": info.trace_id,
        "trace": trace.to_json(),
        "client_request_id": info.client_request_id,
        "state": info.state,
        "request_time": info.request_time,
        "execution_duration": info.execution_duration,
        "request": request,
        "response": response,
        "trace_metadata": dict(info.trace_metadata),
        "tags": dict(info.tags),
        "spans": [span.to_dict() for span in trace.data.spans],
        "assessments": list(info.assessments),
    }
