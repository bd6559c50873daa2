"""W3C trace context on autologged OpenAI calls: the request carries a ``traceparent`` naming
the call's span, so a model gateway or server that continues traces (lanterna's W3C helpers,
any OpenTelemetry-instrumented server) puts its spans under it, in the same trace."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lanterna.entities import LiveSpan


def with_traceparent(kwargs: dict[str, Any], span: LiveSpan) -> dict[str, Any]:
    """``kwargs`` with the span's ``traceparent`` added to ``extra_headers``. The caller's own
    dicts are never changed, and a ``traceparent`` the caller set is kept as it is."""
    extra = kwargs.get("extra_headers")
    headers = dict(extra) if isinstance(extra, Mapping) else {}
    if any(str(key).lower() == "traceparent" for key in headers):
        return kwargs
    headers["traceparent"] = f"00-{span.trace_id.removeprefix('tr-')}-{span.span_id}-01"
    return {**kwargs, "extra_headers": headers}
