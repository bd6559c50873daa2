"""Trace states, and ``TraceStatus``, their MLflow 2-era name."""

from __future__ import annotations

from enum import StrEnum


class TraceState(StrEnum):
    STATE_UNSPECIFIED = "STATE_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    @classmethod
    def coerce(cls, value: TraceState | str | None) -> TraceState:
        """Any state or status spelling; unknown values are ``STATE_UNSPECIFIED``."""
        if isinstance(value, TraceState):
            return value
        if value is None:
            return cls.STATE_UNSPECIFIED
        return cls.__members__.get(str(value).upper(), cls.STATE_UNSPECIFIED)


class TraceStatus(StrEnum):
    """MLflow 2's trace status (deprecated there in favour of ``TraceState``)."""

    UNSPECIFIED = "TRACE_STATUS_UNSPECIFIED"
    OK = "OK"
    ERROR = "ERROR"
    IN_PROGRESS = "IN_PROGRESS"

    def to_state(self) -> TraceState:
        return TraceState.coerce(self.value)

    @classmethod
    def from_state(cls, state: TraceState | str) -> TraceStatus:
        state = TraceState.coerce(state)
        return cls.UNSPECIFIED if state is TraceState.STATE_UNSPECIFIED else cls(state.value)

    @classmethod
    def pending_statuses(cls) -> set[TraceStatus]:
        """Statuses a trace can still leave (it is being recorded)."""
        return {cls.IN_PROGRESS}

    @classmethod
    def end_statuses(cls) -> set[TraceStatus]:
        """Statuses of a finished trace."""
        return {cls.OK, cls.ERROR}
