"""Span status: the OpenTelemetry status model under MLflow's names."""

from __future__ import annotations

from enum import StrEnum

from lanterna.exceptions import MlflowException

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class SpanStatusCode(StrEnum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"

    @classmethod
    def coerce(cls, value: SpanStatusCode | str) -> SpanStatusCode:
        if isinstance(value, SpanStatusCode):
            return value
        if isinstance(value, str):
            name = value.upper()
            if name.startswith("STATUS_CODE_"):
                name = name[len("STATUS_CODE_") :]
            member = cls.__members__.get(name)
            if member is not None:
                return member
        raise MlflowException(
            f"{value} is not a valid SpanStatusCode value. Please use one of "
            f"{[m.value for m in cls]}"
        )


class SpanStatus:
    """A status code and, for errors, a description such as ``"ValueError: bad input"``."""

    __slots__ = ("status_code", "description")

    def __init__(self, status_code: SpanStatusCode | str, description: str = "") -> None:
        self.status_code = SpanStatusCode.coerce(status_code)
        if description and description.__class__ is not str:
            from lanterna.entities._values import safe_text

            description = safe_text(description)  # a status never fails on its description
        self.description = description or ""

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SpanStatus):
            return NotImplemented
        return (self.status_code, self.description) == (other.status_code, other.description)

    def __hash__(self) -> int:
        return hash((self.status_code, self.description))

    def __repr__(self) -> str:
        return f"SpanStatus(status_code={self.status_code!r}, description={self.description!r})"

    @classmethod
    def coerce(cls, value: SpanStatus | SpanStatusCode | str) -> SpanStatus:
        if isinstance(value, SpanStatus):
            return value
        if isinstance(value, (SpanStatusCode, str)):
            return cls(value)
        raise MlflowException(
            f"set_status takes a SpanStatus, a SpanStatusCode or one of 'OK', 'ERROR', 'UNSET'; "
            f"got {type(value).__name__}."
        )

    def to_dict(self) -> dict[str, Any]:
        return {"code": f"STATUS_CODE_{self.status_code.value}", "message": self.description}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpanStatus:
        code = data.get("code", data.get("status_code", "UNSET"))
        return cls(code, data.get("message", data.get("description", "")) or "")

    def to_otel_status(self) -> Any:
        """The OpenTelemetry API's ``opentelemetry.trace.Status`` (needs ``opentelemetry-api``)."""
        from opentelemetry.trace import Status, StatusCode

        code = getattr(StatusCode, self.status_code.value)
        return Status(code, self.description or None if code is StatusCode.ERROR else None)

    @classmethod
    def from_otel_status(cls, otel_status: Any) -> SpanStatus:
        """From an OpenTelemetry API ``Status`` (its ``status_code.name`` is UNSET, OK or ERROR)."""
        return cls(otel_status.status_code.name, otel_status.description or "")

    def to_otel_proto_status(self) -> Any:
        """The OTLP protobuf ``Status`` message (needs ``lanterna[otel]``)."""
        from lanterna.entities._otlp import status_to_otlp

        return status_to_otlp(self)

    @classmethod
    def from_otel_proto_status(cls, otel_proto_status: Any) -> SpanStatus:
        from lanterna.entities._otlp import status_from_otlp

        return status_from_otlp(otel_proto_status)


UNSET = SpanStatus(SpanStatusCode.UNSET)
OK = SpanStatus(SpanStatusCode.OK)
