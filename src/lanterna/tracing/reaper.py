"""Unclosed work never disappears: traces left open are ended as ERROR and exported.

``end_open_trace`` ends a trace's open spans (latest first) with a note, then its root. It runs
when a client ends a trace with open children, when a trace outlives
``LANTERNA_TRACE_TIMEOUT_SECONDS``, and for every trace still open at process exit.
"""

from __future__ import annotations

import threading
import time

from lanterna import _errors
from lanterna._threads import start_thread
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import LiveSpan
from lanterna.entities.span_status import SpanStatus, SpanStatusCode
from lanterna.settings import setting
from lanterna.tracing import runtime

NOT_ENDED_ATTRIBUTE = "lanterna.notEnded"


def end_open_children(trace: LiveTrace, reason: str) -> int:
    """Ends every open span of ``trace`` except its root; returns how many it ended."""
    children = [s for s in list(trace.open.values()) if s is not trace.root]
    children.sort(key=lambda span: span.start_time_ns, reverse=True)
    for child in children:
        _force_end(child, reason)
    return len(children)


def end_open_trace(trace: LiveTrace, reason: str) -> None:
    end_open_children(trace, reason)
    root = trace.root
    if root is not None and root._end_ns is None:
        _force_end(root, reason)


def _force_end(span: LiveSpan, reason: str) -> None:
    if span._end_ns is not None:
        return
    span.set_attribute(NOT_ENDED_ATTRIBUTE, reason)
    span.set_status(SpanStatus(SpanStatusCode.ERROR, reason))
    span._close(None)


def end_all_open_traces(reason: str = "the process exited before this span was ended") -> None:
    for trace in list(runtime.live_traces.values()):
        try:
            end_open_trace(trace, reason)
        except Exception as exc:
            _errors.report(exc, "ending an open trace")


class _Watchdog:
    """Ends traces that stay open longer than the timeout; a thread that wakes now and then."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._thread = threading.Thread(target=self._run, name="lanterna-timeout", daemon=True)
        start_thread(self._thread)  # process signals stay with the main thread

    def _run(self) -> None:
        interval = max(0.05, min(1.0, self.timeout / 4))
        while True:
            time.sleep(interval)
            try:
                self.sweep()
            except Exception as exc:
                _errors.report(exc, "trace timeout sweep")

    def sweep(self) -> None:
        limit_ns = time.time_ns() - int(self.timeout * 1e9)
        reason = f"the trace was still open after {self.timeout:g} s " \
                 "(LANTERNA_TRACE_TIMEOUT_SECONDS)"
        for trace in list(runtime.live_traces.values()):
            root = trace.root
            if root is not None and root._start_ns < limit_ns:
                end_open_trace(trace, reason)


_watchdog: list[_Watchdog] = []


def _start_watchdog() -> None:
    timeout = setting("trace_timeout_seconds")
    if timeout is not None and timeout > 0 and not _watchdog:  # 0 or below: no timeout
        _watchdog.append(_Watchdog(float(timeout)))


runtime.on_first_span(_start_watchdog)
