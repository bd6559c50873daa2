"""The store side of the fluent API: tracking URI, experiments, ``search_traces``,
``delete_traces``. Loaded on first use of one of these names (``lanterna.__getattr__``)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceMetadataKey
from lanterna.exceptions import MlflowException
from lanterna.export import setup
from lanterna.store import uri as _uri
from lanterna.store.base import MAX_PAGE_SIZE, Experiment, PagedList
from lanterna.tracing import runtime

if TYPE_CHECKING:
    from lanterna.entities.session import Session

_RETURN_TYPES = ("pandas", "list")


def set_tracking_uri(uri: str | Path | None) -> None:
    """Send traces to ``uri`` from now on: ``sqlite:///path``, ``postgresql://…``, ``memory://``.

    Traces already finished go to the store they were made for first; a trace still open goes
    there too, whole, when it ends."""
    from lanterna.tracing import runtime

    flushed = setup.flush()
    if runtime.live_traces or not flushed:
        setup.pin_destination(_uri.resolve(), list(runtime.live_traces.values()))
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
                f"No Experiment with id={experiment_id} exists. (lanterna: create one with "
                "set_experiment(experiment_name=...).)",
                error_code="RESOURCE_DOES_NOT_EXIST",
            )
        experiment = found
    elif experiment_name is not None:
        experiment = store.get_or_create_experiment(experiment_name)
    else:
        raise MlflowException("Must specify exactly one of: `experiment_id` or "
                              "`experiment_name`. (lanterna: set_experiment needs one of them.)")
    runtime.config.experiment_id = experiment.experiment_id
    _env_experiment_applied[0] = True  # an explicit choice wins over the environment
    return experiment


_env_experiment_applied = [False]


def apply_env_experiment() -> None:
    """Once: the experiment named by ``LANTERNA_EXPERIMENT_ID``/``_NAME`` (or MLflow's
    ``MLFLOW_EXPERIMENT_ID``/``_NAME``) becomes the active one, unless ``set_experiment`` chose
    one already. The name is created when missing."""
    if _env_experiment_applied[0]:
        return
    _env_experiment_applied[0] = True
    from lanterna.settings import setting

    experiment_id, name = setting("experiment_id"), setting("experiment_name")
    if experiment_id:
        runtime.config.experiment_id = str(experiment_id)
    elif name:
        runtime.config.experiment_id = _uri.get_store().get_or_create_experiment(
            str(name)).experiment_id


def _active_experiment_ids(
    experiment_ids: Sequence[str] | str | None, locations: Sequence[str] | str | None
) -> list[str]:
    """The experiments to search, validated as MLflow validates ``locations``."""
    if experiment_ids is not None and locations is not None:
        raise ValueError(
            "Cannot specify both 'experiment_ids' (deprecated) and 'locations'. "
            "Use 'locations' only."
        )
    if experiment_ids is not None:
        warnings.warn("Parameter 'experiment_ids' is deprecated. Please use 'locations' "
                      "instead.", FutureWarning, stacklevel=3)
    chosen = experiment_ids if experiment_ids is not None else locations
    apply_env_experiment()
    if chosen is None:
        return [runtime.config.experiment_id]
    if not isinstance(chosen, (list, tuple)):
        raise MlflowException(
            f"locations must be a list, got {type(chosen).__name__}. Did you mean to use "
            f"locations=[{chosen!r}]?"
        )
    if not chosen:
        return [runtime.config.experiment_id]
    invalid = [str(e) for e in chosen if "." in str(e) or not str(e).strip()]
    if invalid:
        raise MlflowException(
            "Locations must be a list of experiment IDs. Found invalid experiment IDs: "
            f"{', '.join(invalid)}. (lanterna keeps traces in experiments; Databricks Unity "
            "Catalog locations such as 'catalog.schema' do not apply.)"
        )
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
    (``page_token=``) when ``max_results`` cut it short. ``extract_fields`` (deprecated in
    MLflow, kept) adds DataFrame columns such as ``"predict.inputs.question"``."""
    if return_type is not None and return_type not in _RETURN_TYPES:
        raise MlflowException(
            f"Invalid return type: {return_type}. Return type must be either 'pandas' or "
            "'list'. (lanterna: pass return_type='list' for a list of Trace.)"
        )
    if return_type is None:
        return_type = "pandas" if _pandas_installed() else "list"
    fields: list[tuple[str, str, str, str | None]] = []
    if extract_fields is not None:
        warnings.warn("The `extract_fields` parameter is deprecated and will be removed in a "
                      "future version.", FutureWarning, stacklevel=2)
        if return_type != "pandas":
            raise MlflowException(
                "The `extract_fields` parameter is only supported when return type is set to "
                "'pandas'."
            )
        from lanterna.store.frame import parse_extract_field

        fields = [parse_extract_field(str(field)) for field in extract_fields]
    if run_id is not None:
        clause = f"run_id = {quote(run_id)}"
        filter_string = f"{filter_string} AND {clause}" if filter_string else clause
    if model_id is not None:
        clause = f"metadata.`mlflow.modelId` = {quote(model_id)}"
        filter_string = f"({filter_string}) AND {clause}" if filter_string else clause
    if max_results is not None and (
        isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0
    ):
        raise MlflowException(f"max_results must be a positive integer, got {max_results!r}.")
    ids = _active_experiment_ids(experiment_ids, locations)
    if flush:
        setup.flush()
    found: list[Trace] = []
    token = page_token
    if max_results != 0:
        store = _uri.get_store()
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

    return traces_to_frame(found, fields)


def search_sessions(
    max_results: int = 100,
    run_id: str | None = None,
    model_id: str | None = None,
    include_spans: bool = True,
    locations: Sequence[str] | None = None,
) -> list[Session]:
    """Traces grouped by session id (``update_current_trace(session_id=...)``): the
    ``max_results`` most recently active sessions, newest first, each holding its traces
    oldest first. Traces without a session are left out."""
    from lanterna.entities.session import Session

    key = TraceMetadataKey.SESSION
    order: list[str] = []
    grouped: dict[str, list[Trace]] = {}
    traces = search_traces(
        filter_string=f"metadata.`{key}` IS NOT NULL", order_by=["timestamp_ms DESC"],
        include_spans=include_spans, run_id=run_id, model_id=model_id, return_type="list",
        locations=locations,
    )
    for trace in traces:
        session_id = trace.info.trace_metadata.get(key)
        if not session_id:
            continue
        if session_id not in grouped:
            if len(order) >= max_results:
                continue
            order.append(session_id)
            grouped[session_id] = []
        grouped[session_id].append(trace)
    sessions = []
    for session_id in order:
        members = grouped[session_id]
        members.sort(key=lambda t: (t.info.request_time, t.info.trace_id))
        sessions.append(Session(members))
    return sessions


# -- experiments ----------------------------------------------------------------------------


def create_experiment(
    name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None,
    *, tracking_uri: str | None = None,
) -> str:
    """Create an experiment; returns its id. Raises if one with that name exists."""
    if not isinstance(name, str) or not name.strip():
        raise MlflowException(f"Invalid experiment name: {name!r}")
    store = _uri.get_store(tracking_uri)
    if _by_name(store, name) is not None:
        raise MlflowException(
            f"Experiment(name={name}) already exists. (lanterna: use get_experiment_by_name, "
            "or set_experiment, which creates it only when missing.)",
            error_code="RESOURCE_ALREADY_EXISTS",
        )
    return str(store.get_or_create_experiment(name).experiment_id)


def get_experiment(experiment_id: str, *, tracking_uri: str | None = None) -> Experiment:
    found = _uri.get_store(tracking_uri).get_experiment(str(experiment_id))
    if found is None:
        raise MlflowException(
            f"No Experiment with id={experiment_id} exists. (lanterna: list them with "
            "search_experiments().)",
            error_code="RESOURCE_DOES_NOT_EXIST",
        )
    return found  # type: ignore[no-any-return]


def get_experiment_by_name(name: str, *, tracking_uri: str | None = None) -> Experiment | None:
    """The experiment with this name, or None."""
    return _by_name(_uri.get_store(tracking_uri), name)


def _by_name(store: Any, name: str) -> Experiment | None:
    finder = getattr(store, "get_experiment_by_name", None)
    if finder is not None:
        return finder(name)  # type: ignore[no-any-return]
    return next((e for e, _ in store.list_experiments() if e.name == name), None)


def search_experiments(
    view_type: int = 1,
    max_results: int | None = None,
    filter_string: str | None = None,
    order_by: Sequence[str] | None = None,
    page_token: str | None = None,
    *,
    tracking_uri: str | None = None,
) -> PagedList[Experiment]:
    """Experiments matching ``filter_string`` (``name = 'x'``, ``name LIKE 'a%'``,
    ``name ILIKE``, ``name !=``; clauses joined by AND), newest first unless ``order_by``
    (``name``, ``experiment_id``, ``creation_time`` with ASC/DESC) says otherwise."""
    from lanterna.store.experiments import select_experiments

    everything = [e for e, _ in _uri.get_store(tracking_uri).list_experiments() if e.name]
    return select_experiments(everything, filter_string, order_by, max_results, page_token)


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
