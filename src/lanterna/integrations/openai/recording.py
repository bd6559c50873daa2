"""The span bookkeeping of one OpenAI call: start, finish, fail, and streamed chunks.

Every function here is a guard: a failure inside it is reported through lanterna's one error
guard and the span is still ended, but nothing is raised into the caller's request.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lanterna
from lanterna import _errors
from lanterna.entities import LiveSpan, SpanEvent
from lanterna.integrations.openai import extract
from lanterna.integrations.openai.aggregate import Accumulator, accumulator_for
from lanterna.integrations.openai.extract import Kind

logger = logging.getLogger("lanterna")

CHUNK_EVENT = "mlflow.chunk.item.{}"
CHUNK_VALUE = "mlflow.chunk.value"
ABANDONED = "lanterna.stream.abandoned"


class Settings:
    """What ``autolog()`` was last called with; read on every patched call."""

    log_traces: bool = True
    silent: bool = False


settings = Settings()


def report(error: Exception, where: str) -> None:
    """A failure of our own bookkeeping: log it (quietly when ``silent``), never raise it,
    except under ``raise_internal_errors`` (the test setting), as everywhere in lanterna."""
    if settings.silent and not _errors.raise_internal_errors:
        logger.debug("lanterna.openai: %s failed: %r", where, error)
        return
    _errors.report(error, f"OpenAI autolog, {where}")


def end_quietly(span: LiveSpan) -> None:
    """Last resort after a bookkeeping failure: end the span with whatever it has."""
    try:
        if not span.is_ended:
            span.end()
    except Exception as error:  # pragma: no cover - the core's end() does not raise
        logger.debug("lanterna.openai: could not end span: %r", error)


def start_call(name: str, kind: Kind, kwargs: dict[str, Any]) -> LiveSpan | None:
    """The span of a call about to be made, or None when nothing should be recorded."""
    try:
        inputs = extract.call_inputs(kwargs)
        span = lanterna.start_span_no_context(
            name,
            span_type=kind.span_type,
            inputs=inputs,
            attributes=extract.call_attributes(kind, inputs),
        )
    except Exception as error:
        report(error, f"starting the span of {name}")
        return None
    return span if isinstance(span, LiveSpan) else None


def finish_call(span: LiveSpan, kind: Kind, result: Any) -> None:
    """Record a (non-streamed) response and end the span."""
    try:
        result = _parsed(result)
        outputs = extract.dump(result) if hasattr(result, "model_dump") else None
        span.end(outputs=outputs, attributes=extract.result_attributes(kind, outputs))
    except Exception as error:
        report(error, "recording the response")
        end_quietly(span)


def _parsed(result: Any) -> Any:
    """The response object behind ``with_raw_response`` (an ``APIResponse``/
    ``LegacyAPIResponse``), as MLflow records it; any other result as it is."""
    if hasattr(result, "model_dump") or not (
        hasattr(result, "http_response") and callable(getattr(result, "parse", None))
    ):
        return result
    return result.parse()


def fail_call(span: LiveSpan, exception: BaseException) -> None:
    """The call raised: an ``exception`` event, status ERROR, span ended."""
    try:
        span.record_exception(exception)
        span.end()
    except Exception as error:
        report(error, "recording an error")
        end_quietly(span)


class StreamRecorder:
    """Turns streamed chunks into span events and, at the end, the rebuilt final response.

    Ends the span exactly once: when the stream is exhausted, fails, is closed, or is
    abandoned (a ``break``, or the stream object garbage-collected before its end).
    """

    __slots__ = ("span", "kind", "accumulator", "count", "done")

    def __init__(self, span: LiveSpan, kind: Kind) -> None:
        self.span = span
        self.kind = kind
        self.accumulator: Accumulator = accumulator_for(kind)
        self.count = 0
        self.done = False

    def add(self, chunk: Any) -> None:
        if self.done:
            return
        try:
            index = self.count
            self.count += 1
            value = extract.dump_json(chunk)
            event = SpanEvent(
                CHUNK_EVENT.format(index),
                time.time_ns(),
                {CHUNK_VALUE: value if value is not None else extract.dump(chunk)},
            )
            self.span.add_event(event)
            self.accumulator.add(chunk)
        except Exception as error:
            report(error, "recording a streamed chunk")

    def finish(self, error: BaseException | None = None, abandoned: bool = False) -> None:
        if self.done:
            return
        self.done = True
        try:
            outputs = self.accumulator.result()
            attributes = extract.result_attributes(self.kind, outputs)
            shape = getattr(self.accumulator, "outputs", None)
            if shape is not None:
                outputs = shape(outputs)
            if abandoned:
                attributes[ABANDONED] = True
            if error is not None:
                self.span.record_exception(error)
            self.span.end(outputs=outputs, attributes=attributes)
        except Exception as failure:
            report(failure, "recording the end of a stream")
            end_quietly(self.span)

    def abandon(self) -> None:
        """Called when the stream object is garbage-collected (``weakref.finalize``)."""
        self.finish(abandoned=True)
