"""Building a trace's info from its spans: state, timing, previews, token usage.

Runs on the export thread, so none of this costs the caller anything.
"""

from __future__ import annotations

from operator import attrgetter

from lanterna.entities._values import encode_attribute
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.previews import (
    request_preview,
    response_preview,
    sum_token_usage,
    truncate,
)
from lanterna.entities.span import Span
from lanterna.entities.span_status import SpanStatusCode
from lanterna.entities.trace import Trace, TraceData
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey, TraceTagKey
from lanterna.entities.trace_state import TraceState

METADATA_IO_CHARS = 250
#: A span's start time (the slot behind ``start_time_ns``, read without a Python call).
_start_time = attrgetter("_start_ns")


def in_progress_info(trace: LiveTrace) -> TraceInfo:
    root = trace.root
    start_ns = root.start_time_ns if root is not None else 0
    tags = {**trace.tags}
    if root is not None:
        tags.setdefault(TraceTagKey.TRACE_NAME, root.name)
    return TraceInfo(
        trace_id=trace.trace_id,
        experiment_id=trace.experiment_id,
        request_time=start_ns // 1_000_000,
        state=TraceState.IN_PROGRESS,
        client_request_id=trace.client_request_id,
        trace_metadata={TraceMetadataKey.SCHEMA_VERSION: "3", **trace.metadata},
        tags=tags,
    )


def finished_trace(trace: LiveTrace, root: Span) -> Trace:
    spans = sorted(trace.finished, key=_start_time)
    return Trace(info=finished_info(trace, root, spans), data=TraceData(spans=spans))


def finished_info(trace: LiveTrace, root: Span, spans: list[Span]) -> TraceInfo:
    inputs_json = encode_attribute(root.inputs)
    outputs_json = encode_attribute(root.outputs)
    metadata = {
        TraceMetadataKey.SCHEMA_VERSION: "3",
        # As MLflow: "" when the root has no inputs / outputs (e.g. it raised).
        TraceMetadataKey.INPUTS: (
            "" if root.inputs is None else truncate(inputs_json, METADATA_IO_CHARS)),
        TraceMetadataKey.OUTPUTS: (
            "" if root.outputs is None else truncate(outputs_json, METADATA_IO_CHARS)),
    }
    usage = sum_token_usage(spans)
    if usage is not None:
        import json

        metadata[TraceMetadataKey.TOKEN_USAGE] = json.dumps(usage)
    metadata.update(trace.metadata)
    tags = {TraceTagKey.TRACE_NAME: root.name, **trace.tags}
    if trace.state is not None:
        state = TraceState.coerce(trace.state)
    elif root.status.status_code is SpanStatusCode.ERROR:
        state = TraceState.ERROR
    else:
        state = TraceState.OK
    end_ns = root.end_time_ns or root.start_time_ns
    return TraceInfo(
        trace_id=trace.trace_id,
        experiment_id=trace.experiment_id,
        request_time=root.start_time_ns // 1_000_000,
        state=state,
        request_preview=trace.request_preview or request_preview(root.inputs, inputs_json),
        response_preview=trace.response_preview or response_preview(root.outputs, outputs_json),
        client_request_id=trace.client_request_id,
        execution_duration=(end_ns - root.start_time_ns) // 1_000_000,
        trace_metadata=metadata,
        tags=tags,
    )

