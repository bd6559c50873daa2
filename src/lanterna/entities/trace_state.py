"""Trace states."""

from __future__ import annotations

from enum import StrEnum


class TraceState(StrEnum):
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    @classmethod
    def coerce(cls, value: TraceState | str | None) -> TraceState:
        if isinstance(value, TraceState):
            return value
        if value is None:
            return cls.STATE_UNSPECIFIED
        return cls.__members__.get(str(value).upper(), cls.STATE_UNSPECIFIED)
