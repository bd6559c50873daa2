"""The public surface, the light import, and internal failures (issue 3, acceptance 9)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import lanterna
from conftest import run_python
from lanterna import _errors
from lanterna.testing.pytest_plugin import TracesRecorded

HEAVY = ("sqlalchemy", "alembic", "psycopg", "pandas", "numpy", "openai", "httpx",
         "opentelemetry.sdk", "opentelemetry.proto", "opentelemetry.trace", "google.protobuf",
         "starlette", "fastapi", "uvicorn", "concurrent.futures.thread",
         "inspect", "dataclasses", "logging", "json", "typing", "re", "lanterna.store",
         "lanterna.client",
         "lanterna.integrations")


def test_all_is_sorted_and_pinned() -> None:
    assert lanterna.__all__ == sorted(lanterna.__all__)
    assert lanterna.__all__ == [
        "Client", "MlflowClient", "add_trace", "create_experiment", "delete_trace_tag",
        "delete_traces", "entities", "flush_trace_async_logging", "get_active_trace_id",
        "get_current_active_span", "get_experiment", "get_experiment_by_name",
        "get_last_active_trace_id", "get_trace", "get_tracking_uri", "log_trace", "openai",
        "search_experiments", "search_sessions", "search_traces", "set_experiment",
        "set_trace_tag", "set_tracking_uri", "start_span", "start_span_no_context", "trace",
        "tracing", "update_current_trace",
    ]


def test_import_is_light(tmp_path: Path) -> None:
    code = (
        "import sys\nbefore = set(sys.modules)\nimport lanterna\n"
        f"heavy = {HEAVY!r}\n"
        "loaded = [m for m in heavy if m in sys.modules and m not in before]\n"
        "print(','.join(loaded))"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        lanterna.nope  # type: ignore[attr-defined]  # noqa: B018


def test_internal_failures_are_logged_and_counted_never_raised(
    traces: TracesRecorded, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lanterna.tracing import runtime

    def broken_snapshot(value: object) -> object:
        raise RuntimeError("snapshot bug")

    traces.expect_losses()
    _errors.raise_internal_errors = False
    caplog.set_level(logging.WARNING, logger="lanterna")
    monkeypatch.setattr(runtime, "snapshot", broken_snapshot)

    @lanterna.trace
    def user_code(x: int) -> str:
        return "fine"

    assert user_code(1) == "fine"
    assert "snapshot bug" in caplog.text
    assert _errors.internal_error_counts() == {"starting span 'user_code'": 1}
    assert lanterna.tracing.export_stats()["internal_errors"] == 1


def test_a_failing_span_processor_fails_closed(
    traces: TracesRecorded, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_processor(span: object) -> None:
        raise RuntimeError("processor bug")

    caplog.set_level(logging.WARNING, logger="lanterna")
    with lanterna.tracing.configure(span_processors=[broken_processor]):

        @lanterna.trace
        def user_code() -> str:
            return "secret"

        assert user_code() == "secret"
    assert "your span processor" in caplog.text and "processor bug" in caplog.text
    span = traces.last().data.spans[0]
    assert span.outputs is None and "lanterna.processorFailed" in span.attributes


def test_misuse_gets_one_clear_message(
    traces: TracesRecorded, caplog: pytest.LogCaptureFixture
) -> None:
    span = lanterna.start_span_no_context("s")
    span.end()
    span.end()
    assert "was already ended; end() it once" in caplog.text
    lanterna.update_current_trace(tags={"x": "y"})
    assert "outside a span" in caplog.text
