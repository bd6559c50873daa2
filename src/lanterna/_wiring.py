"""Connects the tracing runtime to the export pipeline (the one place both are imported)."""

from __future__ import annotations

from lanterna import _lifecycle
from lanterna.export import setup
from lanterna.tracing import runtime


def _env_experiment() -> None:
    from lanterna import _store_fluent

    _store_fluent.apply_env_experiment()


def install() -> None:
    _lifecycle.install()
    runtime.flush = setup.flush
    runtime.on_first_span(_env_experiment)
