"""Status and exception rules of SPEC §2 (issue 3, acceptance 4)."""

from __future__ import annotations

import pytest

import lanterna
from lanterna.entities import SpanEvent, SpanStatus, SpanStatusCode
from lanterna.exceptions import MlflowException
from lanterna.testing.pytest_plugin import TracesRecorded


class CustomError(Exception):
    pass


def test_exception_is_recorded_and_reraised_unchanged(traces: TracesRecorded) -> None:
    error = CustomError("boom")

    @lanterna.trace
    def fail() -> None:
        raise error

    with pytest.raises(CustomError) as caught:
        fail()
    assert caught.value is error
    trace = traces.last()
    span = trace.data.spans[0]
    assert span.status == SpanStatus("ERROR", "CustomError: boom")
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.message"] == "boom"
    assert event.attributes["exception.type"] == "CustomError"
    assert "raise error" in event.attributes["exception.stacktrace"]
    assert trace.info.state == "ERROR"


def test_start_span_records_exception_and_propagates(traces: TracesRecorded) -> None:
    with pytest.raises(KeyError), lanterna.start_span("s"):
        {}["k"]  # noqa: B018
    span = traces.last().data.spans[0]
    assert span.status.description == "KeyError: 'k'"


def test_unset_becomes_ok_error_is_kept_ok_is_final(traces: TracesRecorded) -> None:
    with lanterna.start_span("unset"):
        pass
    assert traces.last().data.spans[0].status.status_code == SpanStatusCode.OK

    with lanterna.start_span("error") as span:
        span.set_status("ERROR")
    assert traces.last().data.spans[0].status.status_code == "ERROR"
    assert traces.last().info.state == "ERROR"

    with lanterna.start_span("ok-first") as span:
        span.set_status(SpanStatusCode.OK)
        span.set_status(SpanStatus(SpanStatusCode.ERROR, "late"))
    assert traces.last().data.spans[0].status.status_code == "OK"

    with pytest.raises(ValueError), lanterna.start_span("ok-then-raise") as span:
        span.set_status("OK")
        raise ValueError("x")
    span_done = traces.last().data.spans[0]
    assert span_done.status.status_code == "OK"
    assert [e.name for e in span_done.events] == ["exception"]


def test_child_error_does_not_change_root_state(traces: TracesRecorded) -> None:
    with lanterna.start_span("root"):
        try:
            with lanterna.start_span("child"):
                raise RuntimeError("handled")
        except RuntimeError:
            pass
    trace = traces.last()
    assert {s.name: s.status.status_code for s in trace.data.spans} == {
        "root": "OK", "child": "ERROR"}
    assert trace.info.state == "OK"


def test_update_current_trace_state_wins(traces: TracesRecorded) -> None:
    with lanterna.start_span("root"):
        lanterna.update_current_trace(state="ERROR")
    trace = traces.last()
    assert trace.data.spans[0].status.status_code == "OK"
    assert trace.info.state == "ERROR"
    with pytest.raises(MlflowException, match="'OK' or 'ERROR'"), lanterna.start_span("r"):
        lanterna.update_current_trace(state="IN_PROGRESS")


def test_record_exception_variants(traces: TracesRecorded) -> None:
    with lanterna.start_span("s") as span:
        span.record_exception(ValueError("bad value"))
        span.record_exception("plain message")
        with pytest.raises(MlflowException, match="exception or a message"):
            span.record_exception(42)  # type: ignore[arg-type]
    done = traces.last().data.spans[0]
    assert done.status == SpanStatus("ERROR", "plain message")  # the latest error wins
    assert [e.attributes["exception.message"] for e in done.events] == [
        "bad value", "plain message"]


def test_span_event_from_exception() -> None:
    try:
        raise CustomError("why")
    except CustomError as exc:
        event = SpanEvent.from_exception(exc)
    assert event.name == "exception"
    assert event.attributes["exception.type"] == "CustomError"
    assert event.attributes["exception.message"] == "why"
    assert "CustomError: why" in event.attributes["exception.stacktrace"]
    assert event.timestamp > 1_600_000_000 * 10**9  # ns since epoch


def test_set_status_accepts_strings_enums_and_objects_and_refuses_nonsense() -> None:
    assert SpanStatus("ok").status_code is SpanStatusCode.OK
    assert SpanStatus(SpanStatusCode.ERROR, "d").description == "d"
    with pytest.raises(MlflowException, match="^NOPE is not a valid SpanStatusCode value. Please"):
        SpanStatus("NOPE")
    with lanterna.start_span("s") as span:
        with pytest.raises(MlflowException, match="not a valid SpanStatusCode"):
            span.set_status("MAYBE")
        with pytest.raises(MlflowException, match="set_status takes"):
            span.set_status(3)  # type: ignore[arg-type]
