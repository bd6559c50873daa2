"""pytest plugin (registered as the ``lanterna`` pytest11 entry point).

``lanterna_tracing`` gives a test a fresh tracing state with internal errors re-raised, and a
handle to the traces it produced.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import lanterna
from lanterna import _errors
from lanterna.entities import Trace
from lanterna.export import setup


class TracesRecorded:
    """The traces finished during a test, oldest first."""

    def all(self) -> list[Trace]:
        lanterna.flush_trace_async_logging()
        return [t for t in (setup.memory.get(x.trace_id) for x in setup.memory.traces()) if t]

    def last(self) -> Trace:
        traces = self.all()
        if not traces:
            raise AssertionError("no trace was recorded")
        return traces[-1]


@pytest.fixture
def lanterna_tracing() -> Iterator[TracesRecorded]:
    lanterna.tracing.reset()
    _errors.reset_counts()
    previous = _errors.raise_internal_errors
    _errors.raise_internal_errors = True
    try:
        yield TracesRecorded()
    finally:
        _errors.raise_internal_errors = previous
        lanterna.tracing.reset()
