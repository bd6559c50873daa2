"""MLflow 3 entity parity: TraceLocation, TraceInfo, TraceStatus, span conveniences,
intermediate outputs, protobuf messages (issue 10, entities)."""

from __future__ import annotations

import json

import pytest
from google.protobuf.json_format import MessageToDict

import lanterna
from lanterna.entities import (
    Span,
    SpanType,
    Trace,
    TraceInfo,
    TraceLocation,
    TraceLocationType,
    TraceState,
    TraceStatus,
)
from lanterna.exceptions import MlflowException
from lanterna.testing.pytest_plugin import TracesRecorded


def test_span_read_only_conveniences(traces: TracesRecorded) -> None:
    with lanterna.start_span("chat", span_type=SpanType.CHAT_MODEL) as span:
        span.set_attribute("mlflow.llm.model", "gpt-4o-mini")
        span.set_attribute("mlflow.llm.provider", "openai")
        span.set_attribute("mlflow.llm.cost", {"input_cost": 0.1, "output_cost": 0.2,
                                               "total_cost": 0.3})
        span.set_attribute("mlflow.chat.tokenUsage", {"input_tokens": 3, "output_tokens": 4,
                                                      "total_tokens": 7})
    stored = traces.last().data.spans[0]
    assert stored.model_name == "gpt-4o-mini"
    assert stored.model_provider == "openai"
    assert stored.llm_cost == {"input_cost": 0.1, "output_cost": 0.2, "total_cost": 0.3}
    assert stored.token_usage == {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}
    assert stored.get_attribute("mlflow.spanType") == "CHAT_MODEL"
    with lanterna.start_span("plain") as plain:
        pass
    assert traces.last().data.spans[0].model_name is None
    with pytest.raises(AttributeError):
        stored.model_name = "x"  # type: ignore[misc]
    assert plain.model_name is None


def test_root_parent_span_id_is_none_in_dicts(traces: TracesRecorded) -> None:
    with lanterna.start_span("root"), lanterna.start_span("child"):
        pass
    trace = traces.last()
    root, child = trace.data.spans
    assert root.to_dict()["parent_span_id"] is None
    assert trace.data.to_dict()["spans"][0]["parent_span_id"] is None
    assert child.to_dict()["parent_span_id"]  # base64 of the parent's id
    assert Span.from_dict(root.to_dict()).parent_id is None


def test_intermediate_outputs(traces: TracesRecorded) -> None:
    trace_id = lanterna.log_trace(
        request="q", response="a", intermediate_outputs={"retrieved": ["doc1", "doc2"]})
    logged = lanterna.get_trace(trace_id)
    assert logged is not None
    assert logged.data.intermediate_outputs == {"retrieved": ["doc1", "doc2"]}

    with lanterna.start_span("root") as root:
        for index in range(2):
            with lanterna.start_span("step") as step:
                step.set_outputs(index)
        with lanterna.start_span("rank") as rank:
            rank.set_outputs({"best": 1})
        with lanterna.start_span("silent"):
            pass
        root.set_outputs("done")
    assert traces.last().data.intermediate_outputs == {
        "step_1": 0, "step_2": 1, "rank": {"best": 1}}

    with lanterna.start_span("alone") as alone:
        alone.set_outputs("x")
    assert traces.last().data.intermediate_outputs is None


def test_trace_location() -> None:
    location = TraceLocation.from_experiment_id("42")
    assert location.type is TraceLocationType.MLFLOW_EXPERIMENT
    assert location.mlflow_experiment is not None
    assert location.mlflow_experiment.experiment_id == "42"
    assert location.to_dict() == {"type": "MLFLOW_EXPERIMENT",
                                  "mlflow_experiment": {"experiment_id": "42"}}
    assert TraceLocation.from_dict(location.to_dict()) == location
    uc = TraceLocation.from_databricks_uc_schema("main", "agents")
    assert TraceLocation.from_dict(uc.to_dict()) == uc
    assert uc.uc_schema is not None and uc.uc_schema.schema_location == "main.agents"
    with pytest.raises(MlflowException, match="does not match the provided location"):
        TraceLocation(TraceLocationType.INFERENCE_TABLE,
                      mlflow_experiment=location.mlflow_experiment)
    with pytest.raises(MlflowException, match="not a valid TraceLocationType"):
        TraceLocation("SOMEWHERE")


def full_info() -> TraceInfo:
    return TraceInfo(
        trace_id="tr-0123456789abcdef0123456789abcdef",
        trace_location=TraceLocation.from_experiment_id("7"),
        request_time=1_700_000_000_123,
        state=TraceState.OK,
        request_preview='{"q": "hi"}',
        response_preview='"hello"',
        client_request_id="req-9",
        execution_duration=250,
        trace_metadata={"mlflow.trace_schema.version": "3", "k": "v"},
        tags={"mlflow.traceName": "agent", "team": "search"},
        assessments=[{"assessment_name": "quality", "feedback": {"value": True}}],
    )


def test_trace_info_built_as_mlflow_3_builds_it() -> None:
    info = full_info()
    assert info.experiment_id == "7"
    assert info.request_id == info.trace_id
    assert info.timestamp_ms == 1_700_000_000_123
    assert info.execution_time_ms == 250
    assert info.status == "OK" and info.status is TraceStatus.OK
    assert info.request_metadata == info.trace_metadata
    info.experiment_id = "8"
    assert info.trace_location == TraceLocation.from_experiment_id("8")
    shorthand = TraceInfo("tr-1", experiment_id="3", request_time=5, state="ERROR")
    assert shorthand.trace_location.experiment_id == "3" and shorthand.state is TraceState.ERROR


def test_trace_info_dict_keeps_every_field() -> None:
    info = full_info()
    data = info.to_dict()
    assert data["trace_location"] == {"type": "MLFLOW_EXPERIMENT",
                                      "mlflow_experiment": {"experiment_id": "7"}}
    assert data["request_time"] == "2023-11-14T22:13:20.123Z"
    assert data["execution_duration_ms"] == 250
    assert data["client_request_id"] == "req-9"
    assert data["assessments"] == info.assessments
    again = TraceInfo.from_dict(json.loads(json.dumps(data)))
    assert again == info
    assert again.to_dict() == data


def test_trace_info_loads_mlflow_2_infos() -> None:
    v2 = {
        "request_id": "tr-abc",
        "experiment_id": "5",
        "timestamp_ms": 1_700_000_000_000,
        "execution_time_ms": 12,
        "status": "TRACE_STATUS_UNSPECIFIED",
        "request_metadata": {"mlflow.traceInputs": "{}"},
        "tags": {"mlflow.traceName": "old"},
        "assessments": [],
    }
    info = TraceInfo.from_dict(v2)
    assert info.trace_id == "tr-abc"
    assert info.experiment_id == "5"
    assert info.request_time == 1_700_000_000_000
    assert info.execution_duration == 12
    assert info.state is TraceState.STATE_UNSPECIFIED
    assert info.status is TraceStatus.UNSPECIFIED
    assert info.trace_metadata == {"mlflow.traceInputs": "{}"}
    assert TraceInfo.from_dict({**v2, "status": "OK"}).state is TraceState.OK
    listed = {**v2, "tags": [{"key": "a", "value": "b"}]}  # MLflow 2 REST form
    assert TraceInfo.from_dict(listed).tags == {"a": "b"}


def test_trace_status_groups() -> None:
    assert TraceStatus.pending_statuses() == {TraceStatus.IN_PROGRESS}
    assert TraceStatus.end_statuses() == {TraceStatus.OK, TraceStatus.ERROR}
    assert TraceStatus.from_state(TraceState.ERROR).to_state() is TraceState.ERROR
    assert TraceStatus.UNSPECIFIED.to_state() is TraceState.STATE_UNSPECIFIED


def test_trace_info_proto_round_trip_and_json_shape() -> None:
    info = full_info()
    info.assessments = []  # MLflow's Assessment message is not declared (see _mlflow_proto)
    message = info.to_proto()
    assert type(message).DESCRIPTOR.name == "TraceInfoV3"
    assert TraceInfo.from_proto(message) == info
    parsed = type(message).FromString(message.SerializeToString())
    assert TraceInfo.from_proto(parsed) == info
    as_json = MessageToDict(message, preserving_proto_field_name=True)
    as_json.pop("execution_duration")
    expected = info.to_dict()
    expected.pop("execution_duration_ms")
    assert as_json == expected  # to_dict is the protobuf JSON, as in MLflow
    bare = TraceInfo("tr-2", experiment_id="0", request_time=1)
    assert TraceInfo.from_proto(bare.to_proto()) == bare


def test_trace_proto_round_trip(traces: TracesRecorded) -> None:
    with lanterna.start_span("agent", span_type=SpanType.AGENT) as root:
        root.set_inputs({"q": "ça va?"})
        with lanterna.start_span("tool", span_type=SpanType.TOOL) as tool:
            tool.set_outputs([1, 2])
    trace = traces.last()
    message = trace.to_proto()
    assert type(message).DESCRIPTOR.name == "Trace"
    assert len(message.spans) == 2 and message.trace_info.trace_id == trace.trace_id
    again = Trace.from_proto(type(message).FromString(message.SerializeToString()))
    assert again == trace
