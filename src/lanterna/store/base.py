"""What a trace store does, whatever it keeps traces in (SQL today; a server or a columnar
database later implement the same protocol)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo
from lanterna.store.batch import ExportBatch

DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
#: ``search_traces`` page size when none is given (MLflow's client default).
DEFAULT_PAGE_SIZE = 100
#: The most traces one page may hold.
MAX_PAGE_SIZE = 50_000


T = TypeVar("T")


class PagedList(list[T]):
    """A page of results; ``token`` fetches the next page (None on the last one)."""

    def __init__(self, items: list[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token

    def _repr_html_(self) -> str | None:
        """Jupyter's display of a page of traces (None, Jupyter's plain repr, for other items)."""
        from lanterna.entities._html import traces_html
        from lanterna.entities.trace import Trace

        if not all(isinstance(item, Trace) for item in self):
            return None
        return traces_html(list(self))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Experiment:
    """A named group of traces (``set_experiment``); ``"0"`` is the default one."""

    experiment_id: str
    name: str
    creation_time: int = 0

    @property
    def lifecycle_stage(self) -> str:
        return "active"

    # MLflow's Experiment fields that lanterna keeps no data for.
    @property
    def last_update_time(self) -> int:
        return self.creation_time

    @property
    def tags(self) -> dict[str, str]:
        return {}

    @property
    def artifact_location(self) -> str | None:
        return None


class Store(Protocol):
    uri: str

    def write_batch(self, batch: ExportBatch) -> None:
        """Write started traces, ended spans and finished traces in one transaction.
        Idempotent: writing the same batch twice stores it once."""

    def get_trace(self, trace_id: str) -> Trace | None: ...

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> tuple[list[Trace], str | None]:
        """One page of traces and the token of the next page (None on the last page)."""

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int: ...

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> bool:
        """False when no such trace is stored."""

    def delete_trace_tag(self, trace_id: str, key: str) -> bool: ...

    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        """Ingest spans that arrive from elsewhere (OTLP, MLflow clients): idempotent by
        (trace id, span id); a trace's spans may come in many calls, in any order, and its
        info follows from the root span whenever that arrives."""

    def log_trace_info(self, info: TraceInfo) -> TraceInfo:
        """Upsert a trace's info, before or after its spans; returns what is stored."""

    def get_or_create_experiment(self, name: str) -> Experiment: ...

    def get_experiment(self, experiment_id: str) -> Experiment | None: ...

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        """Every experiment with its number of stored traces, by id (experiments that only
        ingested traces name, e.g. from an OTLP header, are listed with an empty name)."""

    def get_trace_skeleton(self, trace_id: str) -> dict[str, Any] | None:
        """A trace's shape without span content, compact enough for 100,000 spans:
        ``{"trace_id", "info": TraceInfo.to_dict(), "origin_ns": "<int>", "span_count": n,
        "columns": {"span_id", "parent_span_id", "name", "span_type", "status", "start",
        "end"}}``, one list per column, spans ordered by start time; ``start``/``end`` are ns
        offsets from ``origin_ns`` (the earliest start), ``end`` None while a span is open.
        None when no such trace is stored."""

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        """The stored spans of ``trace_id`` among ``span_ids`` (unknown ids are left out)."""

    def upgrade(self) -> str:
        """Migrate the schema to the newest revision; returns it."""

    def dispose(self) -> None:
        """Close connections (after fork, or when the tracking URI changes)."""
