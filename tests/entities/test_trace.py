"""Trace exchange format and search_spans (issue 3, acceptance 7)."""

from __future__ import annotations

import json
import re

import pytest

import lanterna
from lanterna.entities import Span, SpanType, Trace
from lanterna.exceptions import MlflowException
from lanterna.testing.pytest_plugin import TracesRecorded


@pytest.fixture
def sample(traces: TracesRecorded) -> Trace:
    with lanterna.start_span("agent", span_type=SpanType.AGENT) as root:
        root.set_inputs({"question": "ça va?"})
        with lanterna.start_span("retrieve_docs", span_type=SpanType.RETRIEVER) as r:
            r.set_outputs([{"page_content": "x"}])
        with lanterna.start_span("retrieve_more", span_type=SpanType.RETRIEVER):
            pass
        with lanterna.start_span("llm", span_type=SpanType.LLM) as llm:
            llm.set_attribute("model", "m")
            llm.record_exception(ValueError("rate limited"))
        root.set_outputs("fine")
    return traces.last()


def test_round_trip_dict_and_json(sample: Trace) -> None:
    again = Trace.from_json(sample.to_json())
    assert again.to_dict() == sample.to_dict()
    assert Trace.from_dict(sample.to_dict()).to_dict() == sample.to_dict()
    assert Trace.from_json(sample.to_json(pretty=True)) == again
    span = sample.data.spans[0]
    assert Span.from_dict(span.to_dict()) == span


def test_exchange_format_is_mlflow_shaped(sample: Trace) -> None:
    data = json.loads(sample.to_json())
    assert set(data) == {"info", "data"}
    info = data["info"]
    assert info["trace_location"] == {
        "type": "MLFLOW_EXPERIMENT", "mlflow_experiment": {"experiment_id": "0"}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", info["request_time"])
    span = data["data"]["spans"][0]
    assert span["status"] == {"code": "STATUS_CODE_OK", "message": ""}
    assert span["parent_span_id"] is None  # a root has no parent, as in MLflow 3
    assert span["attributes"]["mlflow.spanType"] == '"AGENT"'
    assert span["attributes"]["mlflow.spanInputs"] == '{"question": "ça va?"}'
    assert span["attributes"]["mlflow.traceRequestId"] == json.dumps(sample.trace_id)
    assert len(span["span_id"]) == 12  # base64 of 8 raw bytes, as OTLP JSON


def test_spans_in_start_order(sample: Trace) -> None:
    assert [s.name for s in sample.data.spans] == [
        "agent", "retrieve_docs", "retrieve_more", "llm"]
    starts = [s.start_time_ns for s in sample.data.spans]
    assert starts == sorted(starts)


def test_search_spans(sample: Trace) -> None:
    assert [s.name for s in sample.search_spans(span_type=SpanType.RETRIEVER)] == [
        "retrieve_docs", "retrieve_more"]
    assert [s.name for s in sample.search_spans(name="llm")] == ["llm"]
    assert sample.search_spans(name="retrieve") == []  # a plain string is an exact match
    assert len(sample.search_spans(name=re.compile(r"^retrieve_"))) == 2
    assert len(sample.search_spans(name=re.compile("more"), span_type="RETRIEVER")) == 1
    llm = sample.search_spans(name="llm")[0]
    assert sample.search_spans(span_id=llm.span_id) == [llm]
    assert sample.search_spans(span_type="TOOL") == []


@pytest.mark.parametrize("kwargs", [{"span_type": 1}, {"name": 3}, {"span_id": ["x"]}])
def test_search_spans_rejects_wrong_types(sample: Trace, kwargs: dict[str, object]) -> None:
    with pytest.raises(MlflowException, match="must be a string"):
        sample.search_spans(**kwargs)  # type: ignore[arg-type]


def test_immutable_span_and_legacy_names(sample: Trace) -> None:
    span = sample.data.spans[0]
    with pytest.raises(AttributeError):
        span.name = "x"  # type: ignore[misc]
    with pytest.raises(TypeError, match="get_attribute"):
        span["name"]  # type: ignore[index]
    assert sample.info.request_id == sample.info.trace_id
    assert sample.data.request == '{"question": "ça va?"}'
    assert sample.data.response == '"fine"'
    assert sample.info.timestamp_ms == sample.info.request_time
    assert sample.info.tags["mlflow.traceName"] == "agent"


def test_get_trace_returns_a_copy_and_none_for_unknown(
    sample: Trace, caplog: pytest.LogCaptureFixture
) -> None:
    got = lanterna.get_trace(sample.trace_id)
    assert got is not None
    got.info.tags["mutated"] = "yes"
    again = lanterna.get_trace(sample.trace_id)
    assert again is not None and "mutated" not in again.info.tags
    assert lanterna.get_trace("tr-" + "0" * 32) is None
    assert "no trace with id" in caplog.text
    caplog.clear()
    assert lanterna.get_trace("tr-" + "0" * 32, silent=True) is None
    assert caplog.text == ""
    with pytest.warns(FutureWarning, match="request_id"):
        assert lanterna.get_trace(request_id=sample.trace_id) is not None
