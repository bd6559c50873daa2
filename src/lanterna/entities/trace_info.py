"""Trace-level facts: ids, timing, state, previews, tags and metadata."""

from __future__ import annotations

from lanterna.entities.trace_state import TraceState

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


class TraceTagKey:
    TRACE_NAME = "mlflow.traceName"


_FIELDS = (
    "trace_id", "experiment_id", "request_time", "state", "request_preview", "response_preview",
    "client_request_id", "execution_duration", "trace_metadata", "tags", "assessments",
)


class TraceInfo:
    """What is known about a trace besides its spans. Times in ms."""

    __slots__ = _FIELDS

    def __init__(
        self,
        trace_id: str,
        experiment_id: str = "0",
        request_time: int = 0,
        state: TraceState = TraceState.STATE_UNSPECIFIED,
        request_preview: str | None = None,
        response_preview: str | None = None,
        client_request_id: str | None = None,
        execution_duration: int | None = None,
        trace_metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        assessments: list[Any] | None = None,
    ) -> None:
        self.trace_id = trace_id
        self.experiment_id = experiment_id
        self.request_time = request_time
        self.state = state
        self.request_preview = request_preview
        self.response_preview = response_preview
        self.client_request_id = client_request_id
        self.execution_duration = execution_duration
        self.trace_metadata: dict[str, str] = {} if trace_metadata is None else trace_metadata
        self.tags: dict[str, str] = {} if tags is None else tags
        self.assessments: list[Any] = [] if assessments is None else assessments

    def copy(self) -> TraceInfo:
        """A copy whose tags, metadata and assessments can change without touching this one."""
        clone = TraceInfo(**{name: getattr(self, name) for name in _FIELDS})
        clone.trace_metadata = dict(self.trace_metadata)
        clone.tags = dict(self.tags)
        clone.assessments = list(self.assessments)
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

    @property
    def execution_time_ms(self) -> int | None:
        return self.execution_duration

    @property
    def status(self) -> TraceState:
        return self.state

    @property
    def name(self) -> str | None:
        return self.tags.get(TraceTagKey.TRACE_NAME)

    @property
    def token_usage(self) -> dict[str, int] | None:
        raw = self.trace_metadata.get(TraceMetadataKey.TOKEN_USAGE)
        if not raw:
            return None
        import json

        try:
            usage = json.loads(raw)
        except ValueError:
            return None
        return usage if isinstance(usage, dict) else None

    @property
    def session_id(self) -> str | None:
        return self.trace_metadata.get(TraceMetadataKey.SESSION)

    @property
    def user_id(self) -> str | None:
        return self.trace_metadata.get(TraceMetadataKey.USER)

    def to_dict(self) -> dict[str, Any]:
        from datetime import UTC, datetime

        stamp = datetime.fromtimestamp(self.request_time / 1000, tz=UTC)
        data: dict[str, Any] = {
            "trace_id": self.trace_id,
            "trace_location": {
                "type": "MLFLOW_EXPERIMENT",
                "mlflow_experiment": {"experiment_id": self.experiment_id},
            },
            "request_time": f"{stamp:%Y-%m-%dT%H:%M:%S}.{stamp.microsecond // 1000:03d}Z",
            "state": self.state.value,
            "trace_metadata": dict(self.trace_metadata),
            "tags": dict(self.tags),
        }
        if self.request_preview is not None:
            data["request_preview"] = self.request_preview
        if self.response_preview is not None:
            data["response_preview"] = self.response_preview
        if self.client_request_id is not None:
            data["client_request_id"] = self.client_request_id
        if self.execution_duration is not None:
            data["execution_duration_ms"] = self.execution_duration
        if self.assessments:
            data["assessments"] = list(self.assessments)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TraceInfo:
        location = data.get("trace_location") or {}
        experiment = (location.get("mlflow_experiment") or {}).get("experiment_id")
        duration = data.get("execution_duration_ms", data.get("execution_time_ms"))
        if duration is None and isinstance(data.get("execution_duration"), str):
            duration = round(float(data["execution_duration"].rstrip("s")) * 1000)
        return cls(
            trace_id=str(data.get("trace_id") or data.get("request_id") or ""),
            experiment_id=str(experiment or data.get("experiment_id") or "0"),
            request_time=_parse_time_ms(data.get("request_time", data.get("timestamp_ms", 0))),
            state=TraceState.coerce(data.get("state") or data.get("status")),
            request_preview=data.get("request_preview"),
            response_preview=data.get("response_preview"),
            client_request_id=data.get("client_request_id"),
            execution_duration=int(duration) if duration is not None else None,
            trace_metadata=_as_str_dict(data.get("trace_metadata", data.get("request_metadata"))),
            tags=_as_str_dict(data.get("tags")),
            assessments=list(data.get("assessments") or []),
        )


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
