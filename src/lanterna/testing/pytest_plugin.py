"""pytest plugin (registered as the ``lanterna`` pytest11 entry point).

``lanterna_tracing`` gives a test a fresh tracing state with internal errors re-raised, and a
handle to the traces it produced. The test fails if a span it recorded was refused by the
store, dropped, or hit an internal error, unless it said it expects that
(``lanterna_tracing.expect_losses()``): the suite sees what users would see.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import lanterna
from lanterna import _errors
from lanterna.entities import Trace
from lanterna.export import setup

_LOSSES = ("spans_rejected", "spans_dropped", "internal_errors")


class TracesRecorded:
    """The traces finished during a test, oldest first."""

    def __init__(self) -> None:
        self.losses_expected = False

    def all(self) -> list[Trace]:
        lanterna.flush_trace_async_logging()
        return [t for t in (setup.memory.get(x.trace_id) for x in setup.memory.traces()) if t]

    def last(self) -> Trace:
        traces = self.all()
        if not traces:
            raise AssertionError("no trace was recorded")
        return traces[-1]

    def expect_losses(self) -> None:
        """This test makes lanterna refuse, drop or fail on spans on purpose."""
        self.losses_expected = True


def _losses() -> dict[str, int]:
    stats = lanterna.tracing.export_stats()
    return {name: stats[name] for name in _LOSSES}


@pytest.fixture
def lanterna_tracing() -> Iterator[TracesRecorded]:
    lanterna.tracing.reset()
    _errors.reset_counts()
    before = _losses()
    previous = _errors.raise_internal_errors
    _errors.raise_internal_errors = True
    recorded = TracesRecorded()
    try:
        yield recorded
        lanterna.flush_trace_async_logging()
        after = _losses()
        lost = {name: after[name] - before[name] for name in _LOSSES
                if after[name] > before[name]}
        if lost and not recorded.losses_expected:
            pytest.fail(f"lanterna lost spans during this test: {lost} (see the 'lanterna' "
                        "log; call lanterna_tracing.expect_losses() if that is the point)")
    finally:
        _errors.raise_internal_errors = previous
        lanterna.tracing.reset()
