"""Span links kept end to end: recorded, stored, in MLflow's exchange format, captured from
OpenTelemetry (issue 14, span links)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import lanterna
from lanterna.entities import Link, Span
from lanterna.exceptions import MlflowException
from lanterna.testing.pytest_plugin import TracesRecorded


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path / 'lanterna.db'}"
    lanterna.set_tracking_uri(uri)
    yield uri
    lanterna.flush_trace_async_logging()
    lanterna.set_tracking_uri("memory://")


def test_links_are_recorded_stored_and_read_back(sqlite_store: str) -> None:
    with lanterna.start_span("request") as request:
        pass

    @lanterna.trace(links=[Link(request.trace_id, request.span_id, {"kind": "serves"})])
    def batch_job() -> None:
        span = lanterna.get_current_active_span()
        assert span is not None
        span.add_link(Link(request.trace_id, request.span_id))
        with lanterna.start_span("step", links=[Link(request.trace_id, request.span_id)]):
            pass
        manual = lanterna.start_span_no_context(
            "manual", links=[Link(request.trace_id[3:], request.span_id, {"n": 1})])
        manual.end()

    batch_job()
    lanterna.flush_trace_async_logging()
    stored = lanterna.get_trace(lanterna.get_last_active_trace_id())
    assert stored is not None
    spans = {s.name: s for s in stored.data.spans}
    assert spans["batch_job"].links == [
        Link(request.trace_id, request.span_id, {"kind": "serves"}),
        Link(request.trace_id, request.span_id),
    ]
    assert spans["step"].links == [Link(request.trace_id, request.span_id)]
    assert spans["manual"].links == [Link(request.trace_id, request.span_id, {"n": 1})]


def test_links_in_mlflow_exchange_format_round_trip(traces: TracesRecorded) -> None:
    target = Link("tr-0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", {"weight": 0.5})
    with lanterna.start_span("linked", links=[target]):
        pass
    span = traces.last().data.spans[0]
    data = span.to_dict()
    assert data["links"] == [{
        "trace_id": "CvdlGRbNQ92ESOshHIAxnA==", "span_id": "t61rcWkgMzE=",
        "attributes": {"weight": 0.5},
    }]
    assert Span.from_dict(data).links == [target]
    with lanterna.start_span("plain"):
        pass
    assert "links" not in traces.last().data.spans[0].to_dict()


def test_a_wrong_link_gets_one_clear_message(traces: TracesRecorded) -> None:
    with lanterna.start_span("s") as span, pytest.raises(MlflowException, match="Link\\("):
        span.add_link(("tr-1", "2"))  # type: ignore[arg-type]


def test_links_of_captured_opentelemetry_spans_are_kept(traces: TracesRecorded) -> None:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    import lanterna.otel

    provider = TracerProvider()
    provider.add_span_processor(lanterna.otel.SpanProcessor())
    tracer = provider.get_tracer("jobs")
    with tracer.start_as_current_span("producer") as producer:
        pass
    context = producer.get_span_context()
    with tracer.start_as_current_span(
        "consumer", links=[trace.Link(context, {"messaging.operation": "process"})]
    ):
        pass
    provider.shutdown()
    consumer = traces.last().data.spans[0]
    assert consumer.links == [Link(f"tr-{context.trace_id:032x}", f"{context.span_id:016x}",
                                   {"messaging.operation": "process"})]


def test_links_travel_over_otlp_both_ways(traces: TracesRecorded) -> None:
    pytest.importorskip("opentelemetry.proto")
    from lanterna.entities._otlp import decode_spans, encode_spans

    target = Link("tr-" + "ab" * 16, "cd" * 8, {"why": "batch", "n": 2})
    with lanterna.start_span("job", links=[target]):
        pass
    [span] = decode_spans(encode_spans(traces.last().data.spans))
    assert span.links == [target]
