"""Pure data: spans, events, statuses, documents and traces. Imports nothing else of lanterna."""

from __future__ import annotations

from lanterna.entities.document import Document
from lanterna.entities.session import Session
from lanterna.entities.span import LiveSpan, NoOpSpan, Span, SpanAttributeKey
from lanterna.entities.span_event import SpanEvent
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.entities.span_type import SpanType
from lanterna.entities.trace import Trace, TraceData
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey, TraceTagKey
from lanterna.entities.trace_location import (
    InferenceTableLocation,
    MlflowExperimentLocation,
    TraceLocation,
    TraceLocationType,
    UCSchemaLocation,
)
from lanterna.entities.trace_state import TraceState, TraceStatus

__all__ = [
    "Document",
    "InferenceTableLocation",
    "MlflowExperimentLocation",
    "Link",
    "LiveSpan",
    "NoOpSpan",
    "Span",
    "Session",
    "SpanAttributeKey",
    "SpanEvent",
    "SpanStatus",
    "SpanStatusCode",
    "SpanType",
    "Trace",
    "TraceData",
    "TraceInfo",
    "TraceLocation",
    "TraceLocationType",
    "TraceMetadataKey",
    "TraceState",
    "TraceStatus",
    "TraceTagKey",
    "UCSchemaLocation",
]
