"""Misuse gets MlflowException naming the fix; destructive calls validate first; searches stay
bounded; settings are checked once with a safe value (issue 9). Both engines where the store
answers."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import pytest

import lanterna
from lanterna.entities import SpanEvent
from lanterna.exceptions import InvalidFilterError, MlflowException
from lanterna.store.search.limits import MAX_COMPARISONS, MAX_FILTER_CHARS
from lanterna.testing.pytest_plugin import TracesRecorded

from .conftest import run


def _search(**kwargs: Any) -> list[Any]:
    return list(lanterna.search_traces(return_type="list", **kwargs))


@pytest.fixture
def one_trace(use_store: str, traces: TracesRecorded) -> str:
    with lanterna.start_span(name="kept") as span:
        span.set_inputs("x")
    lanterna.flush_trace_async_logging()
    return span.trace_id  # type: ignore[no-any-return]


@pytest.mark.parametrize("bad", [
    "abc", 1.5, True, 10**30, -1, None if False else float("nan"), "1000",
])
def test_delete_traces_validates_first_and_deletes_nothing(one_trace: str, bad: Any) -> None:
    before = len(_search())
    with pytest.raises(MlflowException, match="max_timestamp_millis"):
        lanterna.delete_traces("0", max_timestamp_millis=bad)
    assert len(_search()) == before and before >= 1


def _forged(after: Any) -> str:
    raw = json.dumps({"after": after, "query": "x"}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("token", [
    "garbage!!", "", "eyJhIjogMX0", 123, _forged([10**40, "x"]), _forged([{"a": 1}, "b"]),
    _forged(["\ud800", "b"]), _forged("not a list"),
])
def test_bad_page_tokens_are_invalid_page_tokens(one_trace: str, token: Any) -> None:
    if token == "":
        assert _search(page_token=token)  # no token: the first page
        return
    with pytest.raises(MlflowException, match="invalid page_token"):
        _search(page_token=token)


@pytest.mark.parametrize("filter_string", [
    "trace.execution_time_ms > 99999999999999999999999999",
    "trace.execution_time_ms > 1e400",
    "tag.a = '\ud800'",
    "tag.a = '" + "x" * (MAX_FILTER_CHARS + 1) + "'",
    " AND ".join(f"tag.k{i} = 'v'" for i in range(MAX_COMPARISONS + 1)),
    " OR ".join(f"tag.k = 'v{i}'" for i in range(300)),
])
def test_filters_out_of_bounds_are_invalid_filters(one_trace: str, filter_string: str) -> None:
    started = time.monotonic()
    with pytest.raises(InvalidFilterError):
        _search(filter_string=filter_string)
    assert time.monotonic() - started < 5  # refused up front, never planned


def test_nul_in_a_text_filter_matches_nothing_it_should_not(one_trace: str) -> None:
    assert _search(filter_string="trace.text = '\x00'") == []
    assert _search(filter_string="span.name = 'ke\x00pt'") == []
    kept = _search(filter_string="span.name = 'kept'")
    assert one_trace in [t.info.trace_id for t in kept]


@pytest.mark.parametrize("trace_id", ["tr-\x00", "tr-\ud800", "tr-" + "a" * 10_000, "nope"])
def test_get_trace_with_odd_ids_finds_nothing_quietly(one_trace: str, trace_id: str) -> None:
    assert lanterna.get_trace(trace_id, silent=True) is None


@pytest.mark.parametrize("trace_id", [123, None, b"tr-1", ["tr-1"]])
def test_get_trace_with_ids_of_the_wrong_type(trace_id: Any) -> None:
    with pytest.raises(MlflowException, match="trace id"):
        lanterna.get_trace(trace_id)


def test_rlike_cannot_hang_sqlite(tmp_path: Path, traces: TracesRecorded) -> None:
    lanterna.set_tracking_uri(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        with lanterna.start_span(name="a" * 5000 + "!"):
            pass
        lanterna.flush_trace_async_logging()
        started = time.monotonic()
        for pattern in ("(a|aa)+$", "^(a|a?)+$", "(a*)*b$"):
            try:
                _search(filter_string=f"trace.name RLIKE '{pattern}'")
            except InvalidFilterError as error:
                assert "took too long" in str(error)
        assert time.monotonic() - started < 20
    finally:
        lanterna.set_tracking_uri(None)


@pytest.mark.parametrize(("event", "fix"), [
    (lambda: SpanEvent("e", timestamp="yesterday"), "nanoseconds"),
    (lambda: SpanEvent("e", timestamp=-5), "nanoseconds"),
    (lambda: SpanEvent("e", timestamp=2**70), "nanoseconds"),
    (lambda: SpanEvent("e", attributes=[("a", 1)]), "dict"),
    (lambda: SpanEvent("e", attributes="a=1"), "dict"),
])
def test_bad_span_events_name_the_fix(event: Any, fix: str) -> None:
    with pytest.raises(MlflowException, match=fix):
        event()


def test_odd_status_descriptions_and_keys_never_raise(traces: TracesRecorded) -> None:
    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

        __repr__ = __str__

    with lanterna.start_span(name="s") as span:
        span.set_status(lanterna.entities.SpanStatus("ERROR", Hostile()))  # type: ignore[arg-type]
        span.set_attribute(Hostile(), 1)  # type: ignore[arg-type]
        lanterna.update_current_trace(tags={Hostile(): Hostile()})
    assert traces.last().data.spans[0].status.status_code == "ERROR"


def test_configure_refuses_a_sampling_ratio_outside_0_1() -> None:
    for bad in (1.5, -0.1, float("nan"), "half"):
        with pytest.raises(MlflowException, match="sampling_ratio"):
            lanterna.tracing.configure(sampling_ratio=bad)  # type: ignore[arg-type]


SETTINGS_PROBE = """
import lanterna
from lanterna.export import setup
from lanterna.tracing import reaper, runtime
from lanterna.settings import setting
for i in range(3):
    with lanterna.start_span(name="x"):
        pass
lanterna.tracing.reset()
lanterna.flush_trace_async_logging()
pipeline = setup.pipeline()
print(pipeline.batch_size, pipeline.max_queue, runtime.config.sampling_ratio,
      setting("trace_timeout_seconds"), lanterna.tracing.export_stats()["spans_exported"])
"""


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("LANTERNA_EXPORT_BATCH_SIZE", "0", "10000 200000 1.0 None 3"),
    ("LANTERNA_EXPORT_QUEUE_SIZE", "-5", "10000 200000 1.0 None 3"),
    ("LANTERNA_TRACE_SAMPLING_RATIO", "1.5", "10000 200000 1.0 None 3"),
    ("LANTERNA_TRACE_SAMPLING_RATIO", "nan", "10000 200000 1.0 None 3"),
    ("LANTERNA_TRACE_TIMEOUT_SECONDS", "soon", "10000 200000 1.0 None 3"),
])
def test_bad_settings_get_one_warning_and_a_safe_value(
    tmp_path: Path, variable: str, value: str, expected: str
) -> None:
    done = run(SETTINGS_PROBE, tmp_path, "memory://", **{variable: value})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
    assert done.stderr.count(f"Ignoring {variable}={value!r}") == 1
