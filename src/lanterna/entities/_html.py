"""Notebook display: a trace (or a list of traces) as a compact, self-contained HTML tree.

Jupyter calls ``_repr_html_``; the HTML carries no script and no external resource, every string
from the trace is escaped, and it links to the trace in the web UI when a server is known:
``LANTERNA_UI_URL`` (e.g. ``http://127.0.0.1:5000`` while ``lanterna ui`` runs), else an
``http(s)://`` tracking URI from ``LANTERNA_TRACKING_URI`` / ``MLFLOW_TRACKING_URI``.
"""

from __future__ import annotations

import html
import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.entities.span import Span
    from lanterna.entities.trace import Trace
    from lanterna.entities.trace_info import TraceInfo

#: Spans drawn inline; the rest are counted, and the link opens them all.
MAX_SPANS = 200
_COLOURS = {
    "LLM": "#8b5cf6", "CHAT_MODEL": "#8b5cf6", "RETRIEVER": "#0ea5e9", "TOOL": "#f59e0b",
    "AGENT": "#10b981", "CHAIN": "#64748b", "EMBEDDING": "#a855f7", "PARSER": "#84cc16",
}
_BOX = ("font:13px/1.5 system-ui,sans-serif;border:1px solid #d0d7de;border-radius:8px;"
        "padding:8px 12px;max-width:960px")


def ui_base() -> str | None:
    """The web UI's address, if one is known (see the module docstring)."""
    explicit = os.environ.get("LANTERNA_UI_URL")
    if explicit:
        return explicit.rstrip("/")
    for name in ("LANTERNA_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        uri = os.environ.get(name, "")
        if uri.startswith(("http://", "https://")):
            return uri.rstrip("/")
    return None


def trace_link(info: TraceInfo, base: str | None) -> str:
    if not base:
        return ""
    from urllib.parse import quote

    href = f"{base}/#/trace/{quote(info.trace_id)}?exp={quote(str(info.experiment_id))}"
    return f'<a href="{html.escape(href)}" target="_blank" rel="noopener">open in lanterna</a>'


def _duration(ms: float | None) -> str:
    if ms is None:
        return "running"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms" if ms < 10 else f"{ms:.0f} ms"
    return f"{ms / 1000:.2f} s"


def _state(value: object) -> str:
    state = str(getattr(value, "value", value))
    colour = {"OK": "#15803d", "ERROR": "#dc2626"}.get(state, "#b45309")
    return f'<b style="color:{colour}">{html.escape(state)}</b>'


def _span_line(span: Span, depth: int) -> str:
    colour = _COLOURS.get(span.span_type, "#94a3b8")
    error = getattr(span.status.status_code, "value", span.status.status_code) == "ERROR"
    end = span.end_time_ns
    took = None if end is None else (end - span.start_time_ns) / 1e6
    name_style = "color:#dc2626" if error else ""
    return (
        f'<div style="padding-left:{min(depth, 30) * 16}px;white-space:nowrap">'
        f'<span style="background:{colour};color:#fff;border-radius:4px;padding:0 5px;'
        f'font-size:10px;font-weight:700">{html.escape(span.span_type or "UNKNOWN")}</span> '
        f'<span style="{name_style}">{html.escape(span.name)}</span> '
        f'<span style="color:#6b7280">{_duration(took)}</span></div>'
    )


def trace_html(trace: Trace) -> str:
    info = trace.info
    spans = trace.data.spans
    children: dict[str | None, list[Span]] = {}
    ids = {s.span_id for s in spans}
    for span in spans:
        parent = span.parent_id if span.parent_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []
    stack = [(s, 0) for s in reversed(children.get(None, []))]
    while stack and len(lines) < MAX_SPANS:
        span, depth = stack.pop()
        lines.append(_span_line(span, depth))
        stack.extend((c, depth + 1) for c in reversed(children.get(span.span_id, [])))
    base = ui_base()
    more = len(spans) - len(lines)
    if more > 0:
        lines.append(f'<div style="color:#6b7280">… and {more:,} more spans'
                     f'{" (" + trace_link(info, base) + ")" if base else ""}</div>')
    usage = info.token_usage
    facts = [
        _state(info.state),
        f"<code>{html.escape(info.trace_id)}</code>",
        _duration(info.execution_time_ms),
        f"{len(spans):,} spans",
    ]
    if usage:
        facts.append(f"{usage.get('total_tokens', 0):,} tokens")
    link = trace_link(info, base)
    if link:
        facts.append(link)
    title = html.escape(info.name or "(unnamed trace)")
    return (f'<div style="{_BOX}"><div><b>{title}</b> &nbsp;{" &middot; ".join(facts)}</div>'
            f'<div style="margin-top:6px">{"".join(lines)}</div></div>')


def traces_html(traces: list[Trace]) -> str:
    base = ui_base()
    head = "".join(f'<th style="text-align:left;padding:2px 8px">{h}</th>' for h in
                   ("Trace", "Name", "State", "Duration", "Tokens", "Request"))
    rows = []
    for trace in traces:
        info = trace.info
        usage = info.token_usage or {}
        request = (info.request_preview or "")[:120]
        cells = (
            f"<code>{html.escape(info.trace_id)}</code> {trace_link(info, base)}",
            html.escape(info.name or ""), _state(info.state),
            _duration(info.execution_time_ms), str(usage.get("total_tokens", "")),
            html.escape(request),
        )
        rows.append("<tr>" + "".join(f'<td style="padding:2px 8px">{c}</td>' for c in cells)
                    + "</tr>")
    return (f'<div style="{_BOX}"><div>{len(traces):,} traces</div><table style="border-collapse:'
            f'collapse">{"<tr>" + head + "</tr>"}{"".join(rows)}</table></div>')
