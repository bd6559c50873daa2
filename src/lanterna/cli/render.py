"""A trace as a tree in the terminal: name, type, status, duration, inputs and outputs."""

from __future__ import annotations

from typing import Any

from lanterna.entities._values import encode_attribute
from lanterna.entities.span import Span
from lanterna.entities.trace import Trace

VALUE_CHARS = 70


def render_tree(trace: Trace, width: int = VALUE_CHARS) -> str:
    info = trace.info
    usage = info.token_usage
    header = f"Trace {info.trace_id}  {info.state.value}  {_ms(info.execution_duration)}"
    if usage:
        tokens_in, tokens_out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
        header += f"  tokens {tokens_in} in / {tokens_out} out"
    lines = [header]
    children: dict[str | None, list[Span]] = {}
    known = {span.span_id for span in trace.data.spans}
    for span in trace.data.spans:
        parent = span.parent_id if span.parent_id in known else None
        children.setdefault(parent, []).append(span)

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for index, span in enumerate(kids):
            last = index == len(kids) - 1
            branch = "└─ " if last else "├─ "
            lines.append(prefix + branch + _describe(span))
            detail_prefix = prefix + ("   " if last else "│  ")
            for label, value in (("in ", span.inputs), ("out", span.outputs)):
                if value is not None:
                    lines.append(f"{detail_prefix}   {label}: {_abbreviate(value, width)}")
            for event in span.events:
                if event.name == "exception":
                    message = event.attributes.get("exception.message", "")
                    kind = event.attributes.get("exception.type", "")
                    lines.append(f"{detail_prefix}   ! {kind}: {_abbreviate(message, width)}")
            walk(span.span_id, detail_prefix)

    walk(None, "")
    return "\n".join(lines)


def _describe(span: Span) -> str:
    duration = None
    if span.end_time_ns is not None:
        duration = (span.end_time_ns - span.start_time_ns) / 1e6
    status = span.status.status_code.value
    return f"{span.name}  [{span.span_type}]  {status}  {_ms(duration)}"


def _ms(value: float | int | None) -> str:
    if value is None:
        return "(running)"
    return f"{value:.1f} ms" if isinstance(value, float) else f"{value} ms"


def _abbreviate(value: Any, width: int) -> str:
    text = value if isinstance(value, str) else encode_attribute(value)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
