"""Span status: the OpenTelemetry status model under MLflow's names."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from lanterna.exceptions import MlflowException


class SpanStatusCode(str, Enum):
    UNSET = "UNSET"
    OK = "OK"
    ERROR = "ERROR"

    def __str__(self) -> str:
        return self.value

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
            f"{value!r} is not a valid SpanStatusCode value. "
            f"Use one of {', '.join(m.value for m in cls)}."
        )


@dataclass(frozen=True, slots=True)
class SpanStatus:
    """A status code and, for errors, a description such as ``"ValueError: bad input"``."""

    status_code: SpanStatusCode
    description: str = ""

    def __init__(self, status_code: SpanStatusCode | str, description: str = "") -> None:
        object.__setattr__(self, "status_code", SpanStatusCode.coerce(status_code))
        object.__setattr__(self, "description", description or "")

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


UNSET = SpanStatus(SpanStatusCode.UNSET)
OK = SpanStatus(SpanStatusCode.OK)
