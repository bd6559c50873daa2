"""disable/enable, span processors, tracing.context, sampling (issue 3, acceptance 8)."""

from __future__ import annotations

from pathlib import Path

import lanterna
from conftest import run_python
from lanterna.entities import LiveSpan, NoOpSpan
from lanterna.testing.pytest_plugin import TracesRecorded


def test_disable_runs_user_code_untouched_with_noop_spans(traces: TracesRecorded) -> None:
    seen: list[object] = []

    @lanterna.trace
    def f(x: int) -> int:
        seen.append(lanterna.get_current_active_span())
        return x + 1

    @lanterna.trace
    def gen() -> object:
        yield 1

    lanterna.tracing.disable()
    try:
        assert f(1) == 2
        assert list(gen()) == [1]  # type: ignore[call-overload]
        with lanterna.start_span("s") as span:
            assert isinstance(span, NoOpSpan)
            span.set_inputs({"ignored": True})
            span.set_attribute("k", "v")
        assert lanterna.start_span_no_context("n").trace_id == "MLFLOW_NO_OP_SPAN_TRACE_ID"
    finally:
        lanterna.tracing.enable()
    assert traces.all() == []
    assert seen == [None]
    f(1)
    assert len(traces.all()) == 1


def test_span_processors_redact_before_export(traces: TracesRecorded) -> None:
    def redact(span: LiveSpan) -> None:
        if isinstance(span.inputs, dict) and "api_key" in span.inputs:
            span.set_inputs({**span.inputs, "api_key": "***"})
        span.set_attribute("redacted", True)

    @lanterna.trace
    def call(prompt: str, api_key: str) -> str:
        return "ok"

    with lanterna.tracing.configure(span_processors=[redact]):
        call("hi", api_key="sk-secret")
    span = traces.last().data.spans[0]
    assert span.inputs == {"prompt": "hi", "api_key": "***"}
    assert span.attributes["redacted"] is True
    assert "sk-secret" not in traces.last().to_json()
    call("hi", api_key="visible")  # the with-block restored the previous configuration
    assert traces.last().data.spans[0].inputs["api_key"] == "visible"


def test_tracing_context_lands_on_every_trace(traces: TracesRecorded) -> None:
    with lanterna.tracing.context(metadata={"release": "1.2"}, tags={"team": "a"}):
        with lanterna.start_span("one"):
            pass
        with (
            lanterna.tracing.context(tags={"team": "b"}, session_id="s-1", user="u-7"),
            lanterna.start_span("two"),
        ):
            pass
        with lanterna.tracing.context(enabled=False), lanterna.start_span("off"):
            pass
    with lanterna.start_span("outside"):
        pass
    by_name = {t.info.tags["mlflow.traceName"]: t.info for t in traces.all()}
    assert set(by_name) == {"one", "two", "outside"}
    assert by_name["one"].trace_metadata["release"] == "1.2"
    assert by_name["one"].tags["team"] == "a"
    assert by_name["two"].tags["team"] == "b"
    assert by_name["two"].trace_metadata["release"] == "1.2"
    assert by_name["two"].session_id == "s-1" and by_name["two"].user_id == "u-7"
    assert "team" not in by_name["outside"].tags


def test_update_current_trace_tags_metadata_previews(traces: TracesRecorded) -> None:
    with lanterna.start_span("root"):
        lanterna.update_current_trace(tags={"a": "1"}, metadata={"m": 2},
                                      client_request_id="req-9", request_preview="short")
        with lanterna.start_span("child"):
            lanterna.update_current_trace(tags={"a": "2", "b": "x"})
    info = traces.last().info
    assert info.tags["a"] == "2" and info.tags["b"] == "x"
    assert info.trace_metadata["m"] == "2"
    assert info.client_request_id == "req-9"
    assert info.request_preview == "short"


def test_sampling_override_drops_whole_traces(traces: TracesRecorded) -> None:
    @lanterna.trace
    def child() -> int:
        return 1

    @lanterna.trace(sampling_ratio_override=0.0)
    def never() -> int:
        return child()

    @lanterna.trace(sampling_ratio_override=1.0)
    def always() -> int:
        return child()

    assert never() == 1
    assert traces.all() == []
    always()
    assert len(traces.last().data.spans) == 2


def test_sampling_ratio_from_environment(tmp_path: Path) -> None:
    code = """
import lanterna
@lanterna.trace
def child(): return 1
@lanterna.trace
def root(): return child()
for _ in range(2000):
    root()
traces = lanterna.search_traces(return_type="list", max_results=5000)
assert all(len(t.data.spans) == 2 for t in traces), "children follow their root"
print(len(traces))
"""
    result = run_python(code, tmp_path, env={"LANTERNA_TRACE_SAMPLING_RATIO": "0.25"})
    assert result.returncode == 0, result.stderr
    kept = int(result.stdout.strip())
    assert 350 < kept < 650  # 500 expected; the bounds are > 6 standard deviations wide
