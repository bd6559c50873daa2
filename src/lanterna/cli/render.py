"""A trace as a tree in the terminal: name, type, status, duration, inputs, outputs, errors.

Everything that comes from user data goes through :func:`printable`, so a span name or value
holding a newline or an ANSI escape sequence is shown as text and never acts on the terminal.
"""

from __future__ import annotations

import re
from typing import Any

from lanterna.entities._values import encode_attribute
from lanterna.entities.span import Span
from lanterna.entities.span_status import SpanStatusCode
from lanterna.entities.trace import Trace

VALUE_CHARS = 70

# C0 and C1 control characters, DEL, and the bidirectional overrides that reorder text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\x1b"}


def printable(text: str) -> str:
    """``text`` with every control character written as an escape (``\\n``, ``\\x1b``, …)."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")


def render_tree(trace: Trace, width: int = VALUE_CHARS) -> str:
    info = trace.info
    known = {span.span_id for span in trace.data.spans}
    children: dict[str | None, list[Span]] = {}
    for span in trace.data.spans:
        parent = span.parent_id if span.parent_id in known else None
        children.setdefault(parent, []).append(span)
    roots = children.get(None, [])
    # The header shows the root span's own duration, so the two lines always agree.
    duration: float | int | None = info.execution_duration
    if len(roots) == 1 and roots[0].end_time_ns is not None:
        duration = _span_ms(roots[0])
    header = f"Trace {printable(info.trace_id)}  {info.state.value}  {_ms(duration)}"
    usage = info.token_usage
    if usage:
        tokens_in, tokens_out = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
        header += f"  tokens {tokens_in} in / {tokens_out} out"
    lines = [header]

    def walk(parent: str | None, prefix: str) -> None:
        kids = children.get(parent, [])
        for index, span in enumerate(kids):
            last = index == len(kids) - 1
            lines.append(prefix + ("└─ " if last else "├─ ") + _describe(span))
            detail = prefix + ("   " if last else "│  ") + "   "
            for label, value in (("in ", span.inputs), ("out", span.outputs)):
                if value is not None:
                    lines.append(f"{detail}{label}: {_abbreviate(value, width)}")
            lines.extend(detail + "! " + _abbreviate(problem, width)
                         for problem in _problems(span))
            walk(span.span_id, prefix + ("   " if last else "│  "))

    walk(None, "")
    return "\n".join(lines)


def _problems(span: Span) -> list[str]:
    """The exceptions recorded on a span, then its ERROR status message if it says more."""
    found = []
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "")
            message = event.attributes.get("exception.message", "")
            found.append(f"{kind}: {message}" if kind else str(message))
    description = span.status.description
    if span.status.status_code == SpanStatusCode.ERROR and description and not any(
        description in problem or problem in description for problem in found
    ):
        found.append(description)
    return found


def _describe(span: Span) -> str:
    duration = None if span.end_time_ns is None else _span_ms(span)
    status = span.status.status_code.value
    return f"{_abbreviate(span.name, VALUE_CHARS)}  [{printable(str(span.span_type))}]  " \
           f"{status}  {_ms(duration)}"


def _span_ms(span: Span) -> float:
    return (int(span.end_time_ns or 0) - span.start_time_ns) / 1e6


def _ms(value: float | int | None) -> str:
    if value is None:
        return "(running)"
    if isinstance(value, int):
        return f"{value} ms"
    return f"{value:.1f} ms" if value >= 1 else f"{value:.2f} ms"


def _abbreviate(value: Any, width: int) -> str:
    text = value if isinstance(value, str) else encode_attribute(value)
    text = printable(" ".join(text.split()))
    return text if len(text) <= width else text[: width - 1] + "…"
