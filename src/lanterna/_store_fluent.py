"""The store side of the fluent API: tracking URI, experiments, ``search_traces``,
``delete_traces``. Loaded on first use of one of these names (``lanterna.__getattr__``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lanterna.entities.trace import Trace
from lanterna.exceptions import MlflowException
from lanterna.export import setup
from lanterna.store import uri as _uri
from lanterna.store.base import MAX_PAGE_SIZE, Experiment, PagedList
from lanterna.tracing import runtime

_RETURN_TYPES = ("pandas", "list")


def set_tracking_uri(uri: str | Path | None) -> None:
    """Send traces to ``uri`` from now on: ``sqlite:///path``, ``postgresql://…``, ``memory://``.

    Traces already finished go to the store they were made for first."""
    setup.flush()
    _uri.set_tracking_uri(uri)


def get_tracking_uri() -> str:
    return _uri.get_tracking_uri()


def set_experiment(
    experiment_name: str | None = None, experiment_id: str | None = None
) -> Experiment:
    """Make the experiment named ``experiment_name`` (created if needed), or the one with
    ``experiment_id``, where new traces go."""
    store = _uri.get_store()
    if experiment_id is not None:
        found = store.get_experiment(str(experiment_id))
        if found is None:
            raise MlflowException(
                f"No experiment with id {experiment_id!r}; create one with "
                "set_experiment(experiment_name=...).",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        experiment = found
    elif experiment_name is not None:
        experiment = store.get_or_create_experiment(experiment_name)
    else:
        raise MlflowException("set_experiment needs experiment_name or experiment_id.")
    runtime.config.experiment_id = experiment.experiment_id
    return experiment


def _active_experiment_ids(
    experiment_ids: Sequence[str] | str | None, locations: Sequence[str] | None
) -> list[str]:
    chosen = experiment_ids if experiment_ids is not None else locations
    if chosen is None:
        return [runtime.config.experiment_id]
    if isinstance(chosen, str):
        return [chosen]
    return [str(e) for e in chosen]


def search_traces(
    experiment_ids: Sequence[str] | None = None,
    filter_string: str | None = None,
    max_results: int | None = None,
    order_by: Sequence[str] | None = None,
    extract_fields: Sequence[str] | None = None,
    run_id: str | None = None,
    return_type: str | None = None,
    model_id: str | None = None,
    sql_warehouse_id: str | None = None,
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
    flush: bool = True,
    page_token: str | None = None,
) -> Any:
    """Stored traces matching ``filter_string`` (the filter language of the docs), newest first
    unless ``order_by`` says otherwise; all of them when ``max_results`` is None.

    Returns a pandas DataFrame when pandas is installed (or ``return_type="pandas"``), else a
    list of ``Trace`` (or with ``return_type="list"``); the list's ``token`` continues the search
    (``page_token=``) when ``max_results`` cut it short."""
    if return_type is not None and return_type not in _RETURN_TYPES:
        raise MlflowException(
            f"return_type must be 'pandas' or 'list', got {return_type!r}."
        )
    if return_type is None:
        return_type = "pandas" if _pandas_installed() else "list"
    if extract_fields is not None:
        warnings.warn(
            "search_traces: extract_fields is not supported and was ignored.",
            FutureWarning, stacklevel=2,
        )
    if run_id is not None:
        clause = f"run_id = {quote(run_id)}"
        filter_string = f"{filter_string} AND {clause}" if filter_string else clause
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1
    ):
        raise MlflowException(f"max_results must be a positive integer, got {max_results!r}.")
    if flush:
        setup.flush()
    store = _uri.get_store()
    ids = _active_experiment_ids(experiment_ids, locations)
    found: list[Trace] = []
    token = page_token
    while True:
        wanted = MAX_PAGE_SIZE if max_results is None else min(max_results - len(found),
                                                               MAX_PAGE_SIZE)
        page, token = store.search_traces(
            experiment_ids=ids, filter_string=filter_string, max_results=wanted,
            order_by=order_by, page_token=token, include_spans=include_spans,
        )
        found.extend(page)
        if token is None or (max_results is not None and len(found) >= max_results):
            break
    if return_type == "list":
        return PagedList(found, token)
    from lanterna.store.frame import traces_to_frame

    return traces_to_frame(found)


def quote(value: str) -> str:
    """A string literal of the filter language holding ``value`` exactly."""
    return "'" + str(value).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _pandas_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pandas") is not None


def delete_traces(
    experiment_id: str,
    max_timestamp_millis: int | None = None,
    max_traces: int | None = None,
    trace_ids: Sequence[str] | None = None,
    *,
    tracking_uri: str | None = None,
) -> int:
    """Delete stored traces of an experiment, by id or older than a time (oldest first, at most
    ``max_traces``); returns how many were deleted. ``tracking_uri``: a store other than the
    one in force (a Client's)."""
    setup.flush()
    store = _uri.get_store(tracking_uri)
    deleted = store.delete_trace_ids(
        str(experiment_id), max_timestamp_millis, max_traces,
        list(trace_ids) if trace_ids is not None else None,
    )
    setup.memory.delete(set(deleted))
    return len(deleted)
