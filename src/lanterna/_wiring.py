"""Connects the tracing runtime to the export pipeline (the one place both are imported)."""

from __future__ import annotations

from lanterna.entities.span import LiveSpan
from lanterna.export import setup
from lanterna.tracing import runtime


def _first_put(span: LiveSpan) -> None:
    pipeline = setup.pipeline()
    runtime.sink = pipeline.put
    pipeline.put(span)


def install() -> None:
    runtime.sink = _first_put
