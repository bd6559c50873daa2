"""Building a trace's info from its spans: state, timing, previews, token usage.

Runs on the export thread, so none of this costs the caller anything.
"""

from __future__ import annotations

from lanterna.entities._values import encode_attribute
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import Span, SpanAttributeKey
from lanterna.entities.span_status import SpanStatusCode
from lanterna.entities.trace import Trace, TraceData
from lanterna.entities.trace_info import TraceInfo, TraceMetadataKey, TraceTagKey
from lanterna.entities.trace_state import TraceState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


PREVIEW_CHARS = 1000
METADATA_IO_CHARS = 250
_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


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
        TraceMetadataKey.INPUTS: _truncate(inputs_json, METADATA_IO_CHARS),
        TraceMetadataKey.OUTPUTS: _truncate(outputs_json, METADATA_IO_CHARS),
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


def _start_time(span: Span) -> int:
    return span.start_time_ns


def sum_token_usage(spans: list[Span]) -> dict[str, int] | None:
    totals: dict[str, int] = {}
    for span in spans:
        usage = span.own_attributes.get(SpanAttributeKey.CHAT_USAGE)
        if not isinstance(usage, dict):
            continue
        for key, value in usage.items():
            if isinstance(value, int) and not isinstance(value, bool):
                totals[key] = totals.get(key, 0) + value
    if not totals:
        return None
    for key in _USAGE_KEYS:
        totals.setdefault(key, 0)
    return totals


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def request_preview(inputs: Any, as_json: str | None = None) -> str | None:
    """The last user message when the inputs look like a chat, else the inputs as JSON."""
    if inputs is None:
        return None
    message = _last_message(inputs, roles=("user",))
    if message is None:
        message = as_json if as_json is not None else encode_attribute(inputs)
    return _truncate(message, PREVIEW_CHARS)


def response_preview(outputs: Any, as_json: str | None = None) -> str | None:
    """The assistant's answer when the outputs look like a chat response, else JSON."""
    if outputs is None:
        return None
    message = outputs if isinstance(outputs, str) else _last_message(outputs, ("assistant",))
    if message is None:
        message = as_json if as_json is not None else encode_attribute(outputs)
    return _truncate(message, PREVIEW_CHARS)


def _last_message(payload: Any, roles: tuple[str, ...]) -> str | None:
    messages: Any = None
    if isinstance(payload, dict):
        if isinstance(payload.get("messages"), list):
            messages = payload["messages"]
        elif isinstance(payload.get("choices"), list) and payload["choices"]:
            choice = payload["choices"][0]
            if isinstance(choice, dict):
                message = choice.get("message")
                if isinstance(message, dict):
                    return _content_text(message.get("content"))
                if isinstance(choice.get("text"), str):
                    return str(choice["text"])
        elif isinstance(payload.get("output"), list):
            messages = [m for m in payload["output"] if isinstance(m, dict)]
        elif isinstance(payload.get("input"), list):
            messages = payload["input"]
        elif isinstance(payload.get("input"), str) and "user" in roles:  # Responses API
            return str(payload["input"])
    elif isinstance(payload, list) and payload and all(isinstance(m, dict) for m in payload):
        messages = payload
    if not messages:
        return None
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in roles:
            return _content_text(message.get("content"))
    return None


def _content_text(content: Any) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [
            str(part.get("text"))
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        ]
        return "".join(parts) if parts else None
    return None
