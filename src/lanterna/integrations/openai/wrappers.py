"""The functions that replace the patched ``openai`` methods.

A wrapper calls the original exactly once, with the caller's arguments untouched, and returns
its result (or a traced stream around it) or lets its exception through unchanged. Everything
else is bookkeeping, guarded in ``recording``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from openai import AsyncStream, Stream

from lanterna.integrations.openai.extract import Kind
from lanterna.integrations.openai.headers import with_traceparent
from lanterna.integrations.openai.recording import (
    StreamRecorder,
    end_quietly,
    fail_call,
    finish_call,
    report,
    settings,
    start_call,
)
from lanterna.integrations.openai.stream import TracedAsyncStream, TracedStream

ORIGINAL = "__lanterna_original__"

# Set while a patched call runs, so a patched method that calls another one (older openai's
# ``beta.chat.completions.parse`` calls ``chat.completions.create``) makes one span, not two.
_in_call: ContextVar[bool] = ContextVar("lanterna_openai_in_call", default=False)


def _traced_result(span: Any, kind: Kind, result: Any) -> Any:
    """What the caller gets back: ``result``, or a traced stream wrapping it."""
    try:
        if isinstance(result, Stream):
            return TracedStream(result, StreamRecorder(span, kind))
        if isinstance(result, AsyncStream):
            return TracedAsyncStream(result, StreamRecorder(span, kind))
    except Exception as error:
        report(error, "wrapping a stream")
        end_quietly(span)
        return result
    finish_call(span, kind, result)
    return result


def sync_wrapper(original: Callable[..., Any], name: str, kind: Kind) -> Callable[..., Any]:
    @functools.wraps(original)
    def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not settings.log_traces or _in_call.get():
            return original(self, *args, **kwargs)
        span = start_call(name, kind, kwargs)
        if span is None:
            return original(self, *args, **kwargs)
        token = _in_call.set(True)
        try:
            result = original(self, *args, **with_traceparent(kwargs, span))
        except BaseException as error:
            fail_call(span, error)
            raise
        finally:
            _in_call.reset(token)
        return _traced_result(span, kind, result)

    setattr(traced, ORIGINAL, original)
    return traced


def async_wrapper(
    original: Callable[..., Awaitable[Any]], name: str, kind: Kind
) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(original)
    async def traced(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not settings.log_traces or _in_call.get():
            return await original(self, *args, **kwargs)
        span = start_call(name, kind, kwargs)
        if span is None:
            return await original(self, *args, **kwargs)
        token = _in_call.set(True)
        try:
            result = await original(self, *args, **with_traceparent(kwargs, span))
        except BaseException as error:
            fail_call(span, error)
            raise
        finally:
            _in_call.reset(token)
        return _traced_result(span, kind, result)

    setattr(traced, ORIGINAL, original)
    return traced
