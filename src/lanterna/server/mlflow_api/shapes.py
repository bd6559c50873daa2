"""lanterna's entities in the JSON shapes MLflow's client parses (protobuf JSON, snake_case).

Spans go out as OpenTelemetry protobuf JSON with native ``AnyValue`` attributes (MLflow's
client JSON-encodes each decoded value itself), ids base64 as protobuf JSON writes bytes.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Collection
from typing import Any

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo
from lanterna.store.base import Experiment

ARTIFACT_LOCATION = "mlflow.artifactLocation"
SPANS_LOCATION = "mlflow.trace.spansLocation"
TRACKING_STORE = "TRACKING_STORE"
_INT64 = 2**63


def experiment(found: Experiment) -> dict[str, Any]:
    return {
        "experiment_id": found.experiment_id,
        "name": found.name,
        "artifact_location": f"mlflow-artifacts:/{found.experiment_id}",
        "lifecycle_stage": found.lifecycle_stage,
        "creation_time": found.creation_time,
        "last_update_time": found.creation_time,
        "tags": [],
    }


def name_filter(filter_string: str) -> str | None:
    """The name in ``name = 'x'`` (the one experiment filter clients send); None otherwise."""
    match = re.fullmatch(r"\s*(?:attribute\.)?name\s*=\s*(['\"])(.*)\1\s*", filter_string)
    return match.group(2) if match else None


def artifact_location(info: TraceInfo) -> str:
    return f"mlflow-artifacts:/{info.experiment_id}/traces/{info.trace_id}/artifacts"


def _tags(info: TraceInfo, with_spans: Collection[str]) -> dict[str, str]:
    """The stored tags plus the two MLflow's client reads: where the ``traces.json``
    artifact goes, and (once spans are stored) that they are in the tracking store, which
    spares the client uploading them again."""
    tags = {**info.tags, ARTIFACT_LOCATION: artifact_location(info)}
    if info.trace_id in with_spans:
        tags[SPANS_LOCATION] = TRACKING_STORE
    return tags


def trace_info(info: TraceInfo, with_spans: Collection[str]) -> dict[str, Any]:
    """A ``TraceInfoV3``."""
    data = info.to_dict()
    data.pop("assessments", None)
    duration = data.pop("execution_duration_ms", None)
    if duration is not None:
        data["execution_duration"] = f"{duration / 1000:.3f}s"
    data["tags"] = _tags(info, with_spans)
    return data


def trace_info_v2(info: TraceInfo, with_spans: Collection[str]) -> dict[str, Any]:
    """A ``TraceInfo`` of the V2 API (lists of key/value pairs, ms timestamps)."""
    state = info.state.value
    return {
        "request_id": info.trace_id,
        "experiment_id": info.experiment_id,
        "timestamp_ms": info.request_time,
        "execution_time_ms": info.execution_duration or 0,
        "status": state if state in ("OK", "ERROR", "IN_PROGRESS") else "TRACE_STATUS_UNSPECIFIED",
        "request_metadata": [{"key": k, "value": v} for k, v in info.trace_metadata.items()],
        "tags": [{"key": k, "value": v} for k, v in _tags(info, with_spans).items()],
    }


def trace(found: Trace) -> dict[str, Any]:
    """A ``Trace``: its info and its spans as OpenTelemetry protobuf JSON."""
    ids = {found.info.trace_id}
    return {
        "trace_info": trace_info(found.info, ids if found.data.spans else ()),
        "spans": [span(s) for s in found.data.spans],
    }


def span(found: Span) -> dict[str, Any]:
    data: dict[str, Any] = {
        "trace_id": _b64(found.trace_id.removeprefix("tr-")),
        "span_id": _b64(found.span_id),
        "name": found.name,
        "kind": "SPAN_KIND_INTERNAL",
        "start_time_unix_nano": str(found.start_time_ns),
        "attributes": [
            {"key": key, "value": any_value(value)} for key, value in found.attributes.items()
        ],
        "events": [
            {
                "name": event.name,
                "time_unix_nano": str(event.timestamp),
                "attributes": [
                    {"key": k, "value": any_value(v)} for k, v in event.attributes.items()
                ],
            }
            for event in found.events
        ],
        "status": {
            "code": f"STATUS_CODE_{found.status.status_code.value}",
            "message": found.status.description,
        },
    }
    if found.parent_id:
        data["parent_span_id"] = _b64(found.parent_id)
    if found.end_time_ns is not None:
        data["end_time_unix_nano"] = str(found.end_time_ns)
    return data


def _b64(hex_id: str) -> str:
    try:
        return base64.b64encode(bytes.fromhex(hex_id)).decode("ascii")
    except ValueError:
        return base64.b64encode(hex_id.encode("utf-8")).decode("ascii")


def any_value(value: Any, depth: int = 0) -> dict[str, Any]:
    """A Python value as an OTLP ``AnyValue`` in protobuf JSON."""
    if value is None or depth > 64:
        return {}
    if isinstance(value, bool):
        return {"bool_value": value}
    if isinstance(value, int):
        if -_INT64 <= value < _INT64:
            return {"int_value": str(value)}
        return {"string_value": str(value)}
    if isinstance(value, float):
        if math.isfinite(value):
            return {"double_value": value}
        return {"double_value": "NaN" if value != value else ("Infinity" if value > 0
                                                              else "-Infinity")}
    if isinstance(value, str):
        return {"string_value": value}
    if isinstance(value, dict):
        return {"kvlist_value": {"values": [
            {"key": str(k), "value": any_value(v, depth + 1)} for k, v in value.items()
        ]}}
    if isinstance(value, (list, tuple)):
        return {"array_value": {"values": [any_value(v, depth + 1) for v in value]}}
    return {"string_value": str(value)}
