"""MLflow's ``Trace`` / ``TraceInfoV3`` / ``TraceLocation`` protobuf messages, without MLflow.

MLflow's generated classes ship only inside the ``mlflow`` packages, so lanterna declares the
same messages itself: same field names, numbers and types (so the bytes and the protobuf JSON are
interchangeable with MLflow's), under the package ``lanterna.mlflow_compat`` so they never clash
with MLflow's own when both are imported. The assessments field (MLflow's large ``Assessment``
message) is not declared; a message carrying it still parses, the field is kept as unknown.

Loaded lazily (protobuf and ``opentelemetry-proto``, the ``otel`` extra).
"""

from __future__ import annotations

from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lanterna.entities.trace import Trace
    from lanterna.entities.trace_info import TraceInfo

PACKAGE = "lanterna.mlflow_compat"
_classes: dict[str, Any] = {}


def message_class(name: str) -> Any:
    """``Trace``, ``TraceInfoV3`` or ``TraceLocation``."""
    if not _classes:
        _register()
    return _classes[name]


def _register() -> None:
    try:
        from google.protobuf import (  # noqa: F401 (registers them)
            descriptor_pb2,
            descriptor_pool,
            duration_pb2,
            message_factory,
            timestamp_pb2,
        )
        from opentelemetry.proto.trace.v1 import trace_pb2  # noqa: F401 (registers it)
    except ImportError as exc:
        raise MlflowException(
            "MLflow protobuf messages need the protobuf and opentelemetry-proto packages; "
            "install them with: pip install 'lanterna[otel]'."
        ) from exc

    F = descriptor_pb2.FieldDescriptorProto
    pool = descriptor_pool.Default()
    file_name = "lanterna/mlflow_compat/trace.proto"
    try:
        pool.FindFileByName(file_name)
    except KeyError:
        proto = descriptor_pb2.FileDescriptorProto(
            name=file_name, package=PACKAGE, syntax="proto2",
            dependency=["google/protobuf/timestamp.proto", "google/protobuf/duration.proto",
                        "opentelemetry/proto/trace/v1/trace.proto"],
        )

        def field(message: Any, name: str, number: int, kind: int, type_name: str = "",
                  repeated: bool = False, oneof: int | None = None) -> None:
            item = message.field.add(name=name, number=number, type=kind,
                                     label=F.LABEL_REPEATED if repeated else F.LABEL_OPTIONAL)
            if type_name:
                item.type_name = type_name
            if oneof is not None:
                item.oneof_index = oneof

        def string_map(message: Any, name: str, number: int, entry: str) -> None:
            nested = message.nested_type.add(name=entry)
            nested.options.map_entry = True
            field(nested, "key", 1, F.TYPE_STRING)
            field(nested, "value", 2, F.TYPE_STRING)
            field(message, name, number, F.TYPE_MESSAGE, f".{PACKAGE}.TraceInfoV3.{entry}",
                  repeated=True)

        location = proto.message_type.add(name="TraceLocation")
        kinds = location.enum_type.add(name="TraceLocationType")
        for number, value in enumerate(("TRACE_LOCATION_TYPE_UNSPECIFIED", "MLFLOW_EXPERIMENT",
                                        "INFERENCE_TABLE")):
            kinds.value.add(name=value, number=number)
        experiment = location.nested_type.add(name="MlflowExperimentLocation")
        field(experiment, "experiment_id", 1, F.TYPE_STRING)
        table = location.nested_type.add(name="InferenceTableLocation")
        field(table, "full_table_name", 1, F.TYPE_STRING)
        location.oneof_decl.add(name="identifier")
        field(location, "type", 1, F.TYPE_ENUM, f".{PACKAGE}.TraceLocation.TraceLocationType")
        field(location, "mlflow_experiment", 2, F.TYPE_MESSAGE,
              f".{PACKAGE}.TraceLocation.MlflowExperimentLocation", oneof=0)
        field(location, "inference_table", 3, F.TYPE_MESSAGE,
              f".{PACKAGE}.TraceLocation.InferenceTableLocation", oneof=0)

        info = proto.message_type.add(name="TraceInfoV3")
        states = info.enum_type.add(name="State")
        for number, value in enumerate(("STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS")):
            states.value.add(name=value, number=number)
        field(info, "trace_id", 1, F.TYPE_STRING)
        field(info, "client_request_id", 2, F.TYPE_STRING)
        field(info, "trace_location", 3, F.TYPE_MESSAGE, f".{PACKAGE}.TraceLocation")
        field(info, "request_preview", 12, F.TYPE_STRING)
        field(info, "response_preview", 13, F.TYPE_STRING)
        field(info, "request_time", 6, F.TYPE_MESSAGE, ".google.protobuf.Timestamp")
        field(info, "execution_duration", 7, F.TYPE_MESSAGE, ".google.protobuf.Duration")
        field(info, "state", 8, F.TYPE_ENUM, f".{PACKAGE}.TraceInfoV3.State")
        string_map(info, "trace_metadata", 9, "TraceMetadataEntry")
        string_map(info, "tags", 11, "TagsEntry")

        trace = proto.message_type.add(name="Trace")
        field(trace, "trace_info", 1, F.TYPE_MESSAGE, f".{PACKAGE}.TraceInfoV3")
        field(trace, "spans", 2, F.TYPE_MESSAGE, ".opentelemetry.proto.trace.v1.Span",
              repeated=True)
        pool.AddSerializedFile(proto.SerializeToString())
    for name in ("Trace", "TraceInfoV3", "TraceLocation"):
        descriptor = pool.FindMessageTypeByName(f"{PACKAGE}.{name}")
        _classes[name] = message_factory.GetMessageClass(descriptor)


def trace_info_to_proto(info: TraceInfo) -> Any:
    message = message_class("TraceInfoV3")()
    message.trace_id = info.trace_id
    if info.client_request_id is not None:
        message.client_request_id = info.client_request_id
    location = info.trace_location
    message.trace_location.type = location.type.value if location.type.value in (
        "MLFLOW_EXPERIMENT", "INFERENCE_TABLE") else "TRACE_LOCATION_TYPE_UNSPECIFIED"
    if location.mlflow_experiment is not None:
        message.trace_location.mlflow_experiment.experiment_id = (
            location.mlflow_experiment.experiment_id)
    elif location.inference_table is not None:
        message.trace_location.inference_table.full_table_name = (
            location.inference_table.full_table_name)
    if info.request_preview is not None:
        message.request_preview = info.request_preview
    if info.response_preview is not None:
        message.response_preview = info.response_preview
    message.request_time.FromMilliseconds(int(info.request_time))
    if info.execution_duration is not None:
        message.execution_duration.FromMilliseconds(int(info.execution_duration))
    message.state = info.state.value
    message.trace_metadata.update(info.trace_metadata)
    message.tags.update(info.tags)
    return message


def trace_info_from_proto(message: Any) -> TraceInfo:
    from lanterna.entities.trace_info import TraceInfo
    from lanterna.entities.trace_location import (
        InferenceTableLocation,
        TraceLocation,
        TraceLocationType,
    )

    location_message = message.trace_location
    kind = location_message.DESCRIPTOR.enum_types_by_name["TraceLocationType"]
    type_name = kind.values_by_number[location_message.type].name
    if location_message.HasField("mlflow_experiment"):
        location = TraceLocation.from_experiment_id(
            location_message.mlflow_experiment.experiment_id)
    elif location_message.HasField("inference_table"):
        location = TraceLocation(TraceLocationType.INFERENCE_TABLE, inference_table=(
            InferenceTableLocation(location_message.inference_table.full_table_name)))
    else:
        location = TraceLocation(type_name)
    states = message.DESCRIPTOR.enum_types_by_name["State"]

    def optional(name: str) -> str | None:
        return getattr(message, name) if message.HasField(name) else None

    return TraceInfo(
        trace_id=message.trace_id,
        trace_location=location,
        request_time=message.request_time.ToMilliseconds(),
        state=states.values_by_number[message.state].name,
        request_preview=optional("request_preview"),
        response_preview=optional("response_preview"),
        client_request_id=optional("client_request_id"),
        execution_duration=(message.execution_duration.ToMilliseconds()
                            if message.HasField("execution_duration") else None),
        trace_metadata=dict(message.trace_metadata),
        tags=dict(message.tags),
    )


def trace_to_proto(trace: Trace) -> Any:
    from lanterna.entities._otlp import span_to_otlp

    message = message_class("Trace")()
    message.trace_info.CopyFrom(trace_info_to_proto(trace.info))
    message.spans.extend(span_to_otlp(span) for span in trace.data.spans)
    return message


def trace_from_proto(message: Any) -> Trace:
    from lanterna.entities._otlp import span_from_otlp
    from lanterna.entities.trace import Trace, TraceData

    info = trace_info_from_proto(message.trace_info)
    spans = [span_from_otlp(span, trace_id=info.trace_id) for span in message.spans]
    return Trace(info, TraceData(spans))
