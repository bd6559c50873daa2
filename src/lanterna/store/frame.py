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


#: An ``extract_fields`` entry: (column name, span name, "inputs"/"outputs", key or None).
Field = tuple[str, str, str, "str | None"]


def parse_extract_field(field: str) -> Field:
    """``"<span>.inputs[.<key>]"`` or ``"<span>.outputs[.<key>]"``; a span name holding dots
    goes in backticks (```a.b`.inputs``)."""
    from lanterna.exceptions import MlflowException

    if field.startswith("`"):
        end = field.find("`", 1)
        if end < 0:
            raise MlflowException(f"Unclosed backtick in field: {field!r}")
        span_name, rest = field[1:end], field[end + 1:]
    else:
        span_name, dot, tail = field.partition(".")
        rest = dot + tail
    if not rest.startswith(".") or not span_name:
        raise MlflowException(
            f"Expected dot after span name: {field!r} (lanterna: write fields as "
            "'<span name>.inputs.<key>' or '<span name>.outputs').")
    kind, _, key = rest[1:].partition(".")
    if kind not in ("inputs", "outputs"):
        raise MlflowException(f"Invalid field type: {kind!r}. Expected 'inputs' or 'outputs'.")
    column = f"{span_name}.{kind}" + (f".{key}" if key else "")
    return column, span_name, kind, key or None


def traces_to_frame(traces: list[Trace], fields: list[Field] | None = None) -> Any:
    try:
        import pandas as pd
    except ImportError as exc:
        raise ImportError(
            "search_traces(return_type='pandas') needs pandas: pip install 'lanterna[pandas]' "
            "(or pass return_type='list')."
        ) from exc
    rows = [_row(t) for t in traces]
    for row, trace in zip(rows, traces, strict=True):
        for column, span_name, kind, key in fields or ():
            row[column] = _extract(trace, span_name, kind, key)
    columns = list(COLUMNS) + [f[0] for f in fields or () if f[0] not in COLUMNS]
    return pd.DataFrame(rows, columns=list(dict.fromkeys(columns)))


def _extract(trace: Trace, span_name: str, kind: str, key: str | None) -> Any:
    span = next((s for s in trace.data.spans if s.name == span_name), None)
    if span is None:
        return None
    value = span.inputs if kind == "inputs" else span.outputs
    if key is None:
        return value
    return value.get(key) if isinstance(value, dict) else None


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
