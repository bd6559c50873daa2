"""Trace-level facts: ids, timing, state, previews, tags and metadata."""

from __future__ import annotations

from lanterna.entities.trace_location import TraceLocation
from lanterna.entities.trace_state import TraceState, TraceStatus
from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class TraceMetadataKey:
    INPUTS = "mlflow.traceInputs"
    OUTPUTS = "mlflow.traceOutputs"
    SCHEMA_VERSION = "mlflow.trace_schema.version"
    TOKEN_USAGE = "mlflow.trace.tokenUsage"
    SIZE_BYTES = "mlflow.trace.sizeBytes"
    SESSION = "mlflow.trace.session"
    USER = "mlflow.trace.user"
    TRACE_SESSION = SESSION
    TRACE_USER = USER
    SOURCE_RUN = "mlflow.sourceRun"
    MODEL_ID = "mlflow.modelId"
    COST = "mlflow.trace.cost"
    SIZE_STATS = "mlflow.trace.sizeStats"


class TraceTagKey:
    TRACE_NAME = "mlflow.traceName"


_FIELDS = (
    "trace_id", "trace_location", "request_time", "state", "request_preview", "response_preview",
    "client_request_id", "execution_duration", "trace_metadata", "tags", "assessments",
)


class TraceInfo:
    """What is known about a trace besides its spans. Times in ms.

    Built as MLflow 3 builds it, ``TraceInfo(trace_id, trace_location, request_time, state,
    ...)``; ``experiment_id="..."`` (or an experiment id string as ``trace_location``) is a
    shorthand for ``TraceLocation.from_experiment_id(...)``.
    """

    # ``trace_location`` and ``assessments`` are built on first use: a trace's info usually
    # only knows its experiment id and has no assessment, and each of those objects (three per
    # trace) would otherwise live on in the export thread's cache, for the cyclic garbage
    # collector to scan (see ``export.compact``).
    __slots__ = tuple(f for f in _FIELDS if f not in ("trace_location", "assessments")) + (
        "_location", "_assessments")

    def __init__(
        self,
        trace_id: str,
        trace_location: TraceLocation | str | None = None,
        request_time: int = 0,
        state: TraceState | str = TraceState.STATE_UNSPECIFIED,
        request_preview: str | None = None,
        response_preview: str | None = None,
        client_request_id: str | None = None,
        execution_duration: int | None = None,
        trace_metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        assessments: list[Any] | None = None,
        *,
        experiment_id: str | None = None,
    ) -> None:
        self._location: TraceLocation | str = (
            trace_location if isinstance(trace_location, TraceLocation)
            else str(trace_location or experiment_id or "0"))
        self.trace_id = trace_id
        self.request_time = request_time
        self.state = state if type(state) is TraceState else TraceState.coerce(state)
        self.request_preview = request_preview
        self.response_preview = response_preview
        self.client_request_id = client_request_id
        self.execution_duration = execution_duration
        self.trace_metadata: dict[str, str] = {} if trace_metadata is None else trace_metadata
        self.tags: dict[str, str] = {} if tags is None else tags
        self._assessments = assessments

    @property
    def trace_location(self) -> TraceLocation:
        location = self._location
        if location.__class__ is str:
            location = self._location = TraceLocation.from_experiment_id(location)
        return location  # type: ignore[return-value]

    @trace_location.setter
    def trace_location(self, value: TraceLocation) -> None:
        self._location = value

    @property
    def assessments(self) -> list[Any]:
        found = self._assessments
        if found is None:
            found = self._assessments = []
        return found

    @assessments.setter
    def assessments(self, value: list[Any]) -> None:
        self._assessments = value

    @property
    def experiment_id(self) -> str | None:
        """The experiment holding the trace (``None`` for a non-experiment location)."""
        location = self._location
        if location.__class__ is str:
            return location  # type: ignore[return-value]
        return location.experiment_id  # type: ignore[union-attr]

    @experiment_id.setter
    def experiment_id(self, value: str) -> None:
        self._location = str(value)

    def copy(self) -> TraceInfo:
        """A copy whose tags, metadata and assessments can change without touching this one."""
        clone = TraceInfo(**{name: getattr(self, name) for name in _FIELDS
                             if name not in ("trace_location", "assessments")},
                          trace_location=self._location)  # type: ignore[arg-type]
        clone.trace_metadata = dict(self.trace_metadata)
        clone.tags = dict(self.tags)
        if self._assessments:
            clone.assessments = list(self._assessments)
        return clone

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TraceInfo):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _FIELDS)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in _FIELDS)
        return f"TraceInfo({fields})"

    # Older MLflow names, kept so code written against them works.
    @property
    def request_id(self) -> str:
        return self.trace_id

    @property
    def request_metadata(self) -> dict[str, str]:
        return self.trace_metadata

    @property
    def timestamp_ms(self) -> int:
        return self.request_time

    @timestamp_ms.setter
    def timestamp_ms(self, value: int) -> None:
        self.request_time = value

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @execution_time_ms.setter
    def execution_time_ms(self, value: int | None) -> None:
        self.execution_duration = value

    @property
    def status(self) -> TraceStatus:
        """Older name of ``state``, as a ``TraceStatus``."""
        return TraceStatus.from_state(self.state)

    @status.setter
    def status(self, value: TraceStatus | str) -> None:
        self.state = TraceState.coerce(value)

    @property
    def name(self) -> str | None:
        return self.tags.get(TraceTagKey.TRACE_NAME)

    @property
    def token_usage(self) -> dict[str, int] | None:
        return _json_dict(self.trace_metadata.get(TraceMetadataKey.TOKEN_USAGE))  # type: ignore[no-any-return]

    @property
    def session_id(self) -> str | None:
        return self.trace_metadata.get(TraceMetadataKey.SESSION)

    @property
    def user_id(self) -> str | None:
        return self.trace_metadata.get(TraceMetadataKey.USER)

    @property
    def cost(self) -> dict[str, float] | None:
        """The trace's LLM cost in USD, when something recorded it."""
        return _json_dict(self.trace_metadata.get(TraceMetadataKey.COST))  # type: ignore[no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """MLflow 3's dict form (protobuf JSON of TraceInfoV3, ``execution_duration_ms``)."""
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(self.request_time / 1000, tz=UTC)
        data: dict[str, Any] = {"trace_id": self.trace_id}
        if self.client_request_id is not None:
            data["client_request_id"] = self.client_request_id
        data["trace_location"] = self.trace_location.to_dict()
        if self.request_preview is not None:
            data["request_preview"] = self.request_preview
        if self.response_preview is not None:
            data["response_preview"] = self.response_preview
        data["request_time"] = f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z"
        data["state"] = self.state.value
        data["trace_metadata"] = dict(self.trace_metadata)
        data["tags"] = dict(self.tags)
        if self._assessments:
            data["assessments"] = [_assessment_dict(a) for a in self.assessments]
        if self.execution_duration is not None:
            data["execution_duration_ms"] = self.execution_duration
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceInfo:
        """Loads MLflow 3 dicts (``to_dict``) and MLflow 2-era ones (``request_id``,
        ``timestamp_ms``, ``status``, ``request_metadata``)."""
        if not isinstance(data, dict):
            raise MlflowException(f"TraceInfo.from_dict takes a dict, got {type(data).__name__}.")
        if data.get("trace_location"):
            location = TraceLocation.from_dict(data["trace_location"])
        else:
            location = TraceLocation.from_experiment_id(str(data.get("experiment_id") or "0"))
        duration = data.get("execution_duration_ms", data.get("execution_time_ms"))
        if duration is None and data.get("execution_duration") is not None:
            raw = data["execution_duration"]
            duration = (round(float(raw.rstrip("s")) * 1000) if isinstance(raw, str)
                        else int(raw))
        metadata = data.get("trace_metadata", data.get("request_metadata"))
        return cls(
            trace_id=str(data.get("trace_id") or data.get("request_id") or ""),
            trace_location=location,
            request_time=_parse_time_ms(data.get("request_time", data.get("timestamp_ms", 0))),
            state=TraceState.coerce(data.get("state") or data.get("status")),
            request_preview=data.get("request_preview"),
            response_preview=data.get("response_preview"),
            client_request_id=data.get("client_request_id"),
            execution_duration=int(duration) if duration is not None else None,
            trace_metadata=_as_str_dict(metadata),
            tags=_as_str_dict(data.get("tags")),
            assessments=list(data.get("assessments") or []),
        )

    def to_proto(self) -> Any:
        """The MLflow ``TraceInfoV3`` protobuf message (wire- and JSON-compatible with
        MLflow's; needs ``lanterna[otel]``)."""
        from lanterna.entities._mlflow_proto import trace_info_to_proto

        return trace_info_to_proto(self)

    @classmethod
    def from_proto(cls, proto: Any) -> TraceInfo:
        """From a ``TraceInfoV3`` message, lanterna's or MLflow's own."""
        from lanterna.entities._mlflow_proto import trace_info_from_proto

        return trace_info_from_proto(proto)


def _json_dict(raw: str | None) -> Any:
    if not raw:
        return None
    import json

    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _assessment_dict(assessment: Any) -> Any:
    to_dict = getattr(assessment, "to_dictionary", None) or getattr(assessment, "to_dict", None)
    return to_dict() if callable(to_dict) else assessment


def _parse_time_ms(value: Any) -> int:
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, str) and value:
        if value.isdigit():
            return int(value)
        from datetime import datetime

        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return round(parsed.timestamp() * 1000)
    return 0


def _as_str_dict(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if isinstance(value, list):  # MLflow 2: [{"key": ..., "value": ...}]
        return {str(item["key"]): str(item["value"]) for item in value}
    return {str(k): str(v) for k, v in dict(value).items()}
