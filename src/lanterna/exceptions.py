"""The one exception tree of lanterna.

Names follow MLflow where users catch them (``MlflowException``), so code written for MLflow keeps
its ``except`` clauses. Third-party errors are converted at the edge with ``raise ... from``.
"""

from __future__ import annotations


class MlflowException(Exception):
    """Base of every error lanterna raises on purpose (misuse, bad input)."""

    def __init__(self, message: str, error_code: str = "INVALID_PARAMETER_VALUE") -> None:
        super().__init__(message)
        self.message = message
        self.error_code = error_code


LanternaException = MlflowException


class InvalidFilterError(MlflowException):
    """A ``search_traces`` filter or order_by that does not parse; names the offending token."""

    def __init__(self, message: str, position: int | None = None, token: str | None = None):
        super().__init__(message)
        self.position = position
        self.token = token


class TraceNotFoundError(MlflowException):
    """An id that names no known trace or span."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code="RESOURCE_DOES_NOT_EXIST")


class StoreError(MlflowException):
    """The trace store could not be reached or refused an operation."""

    def __init__(self, message: str) -> None:
        super().__init__(message, error_code="INTERNAL_ERROR")


class SchemaTooNewError(StoreError):
    """The database was migrated by a newer lanterna than this one."""


__all__ = [
    "InvalidFilterError",
    "LanternaException",
    "MlflowException",
    "SchemaTooNewError",
    "StoreError",
    "TraceNotFoundError",
]
