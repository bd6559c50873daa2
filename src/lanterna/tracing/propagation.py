"""W3C trace context: continue a trace across processes with the ``traceparent`` header.

The caller side puts ``get_tracing_context_headers_for_http_request()`` on its request; the
server side wraps its handling in ``set_tracing_context_from_http_request_headers(headers)``,
and the spans it starts become children of the caller's span, in the caller's trace.
"""

from __future__ import annotations

from lanterna import _log
from lanterna.tracing import runtime
from lanterna.tracing.context import RemoteParent, current_span

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from contextvars import Token
    from types import TracebackType

    from lanterna.entities.span import LiveSpan, NoOpSpan

_HEX = frozenset("0123456789abcdef")
#: Traces whose context went out in a header (newest last, bounded): other processes may store
#: spans of them, so ``get_trace`` reads those from the store too.
_propagated: dict[str, None] = {}
_MAX_PROPAGATED = 10_000


def was_propagated(trace_id: str) -> bool:
    return trace_id in _propagated


def get_tracing_context_headers_for_http_request() -> dict[str, str]:
    """``{"traceparent": "00-<trace>-<span>-01"}`` for the current span; ``{}`` outside one."""
    span = runtime.current_live_span()
    if span is None:
        return {}
    if span.trace_id not in _propagated:
        if len(_propagated) >= _MAX_PROPAGATED:
            _propagated.pop(next(iter(_propagated)), None)
        _propagated[span.trace_id] = None
    return {"traceparent": f"00-{span.trace_id.removeprefix('tr-')}-{span.span_id}-01"}


def parse_traceparent(value: str) -> RemoteParent | None:
    """The remote span a ``traceparent`` header names, or None if it is not a valid one."""
    parts = value.strip().lower().split("-")
    if len(parts) < 4 or parts[0] == "ff":
        return None
    version, trace_hex, span_hex, flags = parts[:4]
    valid = (
        len(version) == 2 and len(trace_hex) == 32 and len(span_hex) == 16 and len(flags) == 2
        and set(version + trace_hex + span_hex + flags) <= _HEX
        and trace_hex != "0" * 32 and span_hex != "0" * 16
    )
    if not valid:
        return None
    return RemoteParent("tr-" + trace_hex, span_hex, bool(int(flags, 16) & 1))


class set_tracing_context_from_http_request_headers:  # noqa: N801 - named as MLflow names it
    """``with set_tracing_context_from_http_request_headers(request.headers):`` — spans started
    inside continue the caller's trace. Headers without a valid ``traceparent`` change nothing
    (one warning for a malformed one)."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        value = None
        for key, item in dict(headers).items():
            if str(key).lower() == "traceparent":
                value = str(item)
        self._parent = parse_traceparent(value) if value else None
        if value and self._parent is None:
            _log.warning("Ignoring a malformed traceparent header %r: spans start a new trace.",
                         value[:100])
        self._token: Token[LiveSpan | NoOpSpan | RemoteParent | None] | None = None

    def __enter__(self) -> None:
        if self._parent is not None:
            self._token = current_span.set(self._parent)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            current_span.reset(self._token)
            self._token = None
