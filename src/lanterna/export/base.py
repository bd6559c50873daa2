"""The exporter interface: what the export pipeline hands to a destination.

The batch type is ``lanterna.store.batch.ExportBatch`` (beside the Store protocol, so stores need
not import this package); ``lanterna.export.base.ExportBatch`` still finds it.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # a protocol for the type checker only; nothing imports typing at run time
    from typing import Any, Protocol

    from lanterna.store.batch import ExportBatch

    class Exporter(Protocol):
        def export(self, batch: ExportBatch) -> object:
            """Deliver a batch; raise to have the pipeline retry it with back-off. Return
            None, or a ``pipeline.Unstored`` counting spans that will never be stored."""

        def shutdown(self) -> None:
            """Release resources; called once at exit after the last batch."""


def __getattr__(name: str) -> Any:
    """``ExportBatch`` loads on first use (``import lanterna`` does not load the store)."""
    if name == "ExportBatch":
        from lanterna.store.batch import ExportBatch

        return ExportBatch
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
