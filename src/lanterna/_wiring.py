"""Connects the tracing runtime to the export pipeline (the one place both are imported)."""

from __future__ import annotations

import atexit

from lanterna.entities.span import LiveSpan
from lanterna.export import setup
from lanterna.tracing import reaper, runtime


def _first_put(span: LiveSpan) -> None:
    from lanterna.store import uri

    uri.resolve()  # a relative SQLite path is fixed now, before any os.chdir
    pipeline = setup.pipeline()
    runtime.sink = pipeline.put
    # Registered after the pipeline's own exit hook, so it runs first (atexit is LIFO): traces
    # still open are ended as ERROR and then exported with everything else.
    atexit.register(reaper.end_all_open_traces)
    pipeline.put(span)


def _env_experiment() -> None:
    from lanterna import _store_fluent

    _store_fluent.apply_env_experiment()


def install() -> None:
    runtime.sink = _first_put
    runtime.flush = setup.flush
    runtime.on_first_span(_env_experiment)
