"""OpenTelemetry and lanterna spans nest both ways in one trace (issue 14, acceptance 1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import propagate, trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased  # noqa: E402

import lanterna  # noqa: E402
import lanterna.otel  # noqa: E402
from lanterna.entities import Trace  # noqa: E402
from lanterna.testing.pytest_plugin import TracesRecorded  # noqa: E402


class UserSetup:
    def __init__(self, sampler: object = None) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider(**({"sampler": sampler} if sampler else {}))
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.provider.add_span_processor(lanterna.otel.SpanProcessor())
        self.tracer = self.provider.get_tracer("user.app")


@pytest.fixture
def user() -> Iterator[UserSetup]:
    setup = UserSetup()
    yield setup
    setup.provider.shutdown()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[str]:
    uri = f"sqlite:///{tmp_path / 'lanterna.db'}"
    lanterna.set_tracking_uri(uri)
    yield uri
    lanterna.flush_trace_async_logging()
    lanterna.set_tracking_uri("memory://")


def parents(trace: Trace) -> dict[str, str | None]:
    """span name -> parent span name"""
    names = {s.span_id: s.name for s in trace.data.spans}
    return {s.name: names.get(s.parent_id) if s.parent_id else None for s in trace.data.spans}


def test_otel_spans_inside_lanterna_and_lanterna_inside_otel_form_one_stored_trace(
    user: UserSetup, sqlite_store: str
) -> None:
    @lanterna.trace(span_type="AGENT")
    def agent(question: str) -> str:
        with user.tracer.start_as_current_span("otel.retrieve") as otel_span:
            otel_span.set_attribute("openinference.span.kind", "RETRIEVER")
            with lanterna.start_span("lanterna.rank") as rank:
                rank.set_inputs({"k": 3})
                with user.tracer.start_as_current_span("otel.score"):
                    pass
        return question.upper()

    with user.tracer.start_as_current_span("otel.request") as request:
        assert agent("hi") == "HI"
        otel_trace_id = request.get_span_context().trace_id

    lanterna.flush_trace_async_logging()
    traces = lanterna.search_traces(return_type="list")
    assert len(traces) == 1
    stored = lanterna.get_trace(traces[0].info.trace_id)
    assert stored is not None
    assert stored.info.trace_id == f"tr-{otel_trace_id:032x}"
    assert parents(stored) == {
        "otel.request": None,
        "agent": "otel.request",
        "otel.retrieve": "agent",
        "lanterna.rank": "otel.retrieve",
        "otel.score": "lanterna.rank",
    }
    by_name = {s.name: s for s in stored.data.spans}
    assert by_name["otel.retrieve"].span_type == "RETRIEVER"
    assert by_name["agent"].span_type == "AGENT"
    assert by_name["otel.score"].get_attribute("otel.scope.name") == "user.app"
    assert stored.info.state == "OK"

    # The user's exporter gets its own spans, once each, with lanterna spans as their parents.
    exported = user.exporter.get_finished_spans()
    assert sorted(s.name for s in exported) == ["otel.request", "otel.retrieve", "otel.score"]
    ids = {s.name: s.span_id for s in stored.data.spans}
    by_otel = {s.name: s for s in exported}
    assert {s.context.trace_id for s in exported} == {otel_trace_id}
    assert f"{by_otel['otel.retrieve'].parent.span_id:016x}" == ids["agent"]
    assert f"{by_otel['otel.score'].parent.span_id:016x}" == ids["lanterna.rank"]


def test_a_lanterna_root_keeps_its_trace_id_for_otel_children(
    user: UserSetup, traces: TracesRecorded
) -> None:
    with lanterna.start_span("root") as root:
        assert trace.get_current_span().get_span_context().span_id == int(root.span_id, 16)
        with user.tracer.start_as_current_span("child") as child:
            assert lanterna.get_current_active_span().span_id == (
                f"{child.get_span_context().span_id:016x}")
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            assert carrier["traceparent"] == (
                lanterna.tracing.get_tracing_context_headers_for_http_request()["traceparent"])
    stored = traces.last()
    assert stored.info.trace_id == root.trace_id
    assert parents(stored) == {"root": None, "child": "root"}
    assert f"tr-{user.exporter.get_finished_spans()[0].context.trace_id:032x}" == root.trace_id
    # Outside every span, neither side sees a current span.
    assert not trace.get_current_span().get_span_context().is_valid
    assert lanterna.get_current_active_span() is None


def test_the_users_sampler_decides_and_lanterna_follows(traces: TracesRecorded) -> None:
    user = UserSetup(sampler=ParentBased(ALWAYS_OFF))
    try:
        with user.tracer.start_as_current_span("dropped") as dropped:
            assert not dropped.is_recording()
            with lanterna.start_span("inside") as inside:
                inside.set_inputs("x")
        assert user.exporter.get_finished_spans() == ()
        assert traces.all() == []  # the sampled-out trace is not stored either
        # A lanterna root is sampled by lanterna; its OTel children follow ParentBased.
        with lanterna.start_span("kept"), user.tracer.start_as_current_span("child"):
            pass
        assert [s.name for s in user.exporter.get_finished_spans()] == ["child"]
        assert parents(traces.last()) == {"kept": None, "child": "kept"}
    finally:
        user.provider.shutdown()


def test_attributes_set_through_otel_current_span_land_on_the_lanterna_span(
    user: UserSetup, traces: TracesRecorded
) -> None:
    with lanterna.start_span("work"):
        current = trace.get_current_span()
        assert current.is_recording()
        current.set_attribute("http.route", "/ask")
        current.add_event("cache.miss", {"key": "k1"})
    span = traces.last().data.spans[0]
    assert span.get_attribute("http.route") == "/ask"
    assert [e.name for e in span.events] == ["cache.miss"]


def test_an_extracted_remote_context_parents_lanterna_spans(
    user: UserSetup, traces: TracesRecorded
) -> None:
    remote = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    token = otel_context.attach(propagate.extract({"traceparent": remote}))
    try:
        with lanterna.start_span("handler"), user.tracer.start_as_current_span("db"):
            pass
    finally:
        otel_context.detach(token)
    stored = traces.last()
    assert stored.info.trace_id == "tr-0af7651916cd43dd8448eb211c80319c"
    spans = {s.name: s for s in stored.data.spans}
    assert spans["handler"].parent_id == "b7ad6b7169203331"
    assert spans["db"].parent_id == spans["handler"].span_id
    assert lanterna.get_current_active_span() is None
