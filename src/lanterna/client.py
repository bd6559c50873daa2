"""The low-level client: explicit trace lifecycle with ids (``MlflowClient`` compatible).

Spans started here are never made current; they share the runtime and store of the fluent API.
The client is thread-safe: one client may be shared by any number of threads, and several
threads may add children to one trace. Misuse gets one clear message that names the fix and
never touches other traces.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from lanterna import _log
from lanterna._traces import recorded_trace, resolve_trace_id
from lanterna.entities.live_trace import LiveTrace
from lanterna.entities.span import LiveSpan, NoOpSpan
from lanterna.entities.span_link import Link
from lanterna.entities.span_status import SpanStatus
from lanterna.entities.span_type import SpanType
from lanterna.entities.trace import Trace
from lanterna.exceptions import MlflowException, TraceNotFoundError
from lanterna.export import setup
from lanterna.tracing import reaper, runtime

_DEFAULT_PAGE = 100
_warned: set[str] = set()


class PagedList(list[Trace]):
    """A page of results; ``token`` fetches the next page (None on the last one)."""

    def __init__(self, items: Sequence[Trace], token: str | None) -> None:
        super().__init__(items)
        self.token = token


class Client:
    """``Client(tracking_uri=None)``: traces started by this client go to ``tracking_uri``
    (default: the tracking URI in force)."""

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self._tracking_uri: str | None = None
        if tracking_uri is not None:
            from lanterna.store import uri

            if uri.supported(str(tracking_uri)):
                self._tracking_uri = str(tracking_uri)
            elif str(tracking_uri) not in _warned:  # once per URI; traces go where others go
                _warned.add(str(tracking_uri))
                _log.warning(
                    "Tracking URI %r: lanterna cannot store traces there. Supported: %s. "
                    "This client uses the tracking URI in force (%s).",
                    str(tracking_uri), uri.SUPPORTED, uri.get_tracking_uri(),
                )
        self._lock = threading.Lock()

    @property
    def tracking_uri(self) -> str:
        from lanterna.store import uri

        return self._tracking_uri or uri.get_tracking_uri()

    # -- lifecycle ---------------------------------------------------------------------------
    def start_trace(
        self,
        name: str,
        span_type: str = SpanType.UNKNOWN,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        tags: dict[str, str] | None = None,
        experiment_id: str | None = None,
        start_time_ns: int | None = None,
        links: list[Link] | None = None,
        **ignored: Any,
    ) -> LiveSpan | NoOpSpan:
        """Starts a new trace and returns its root span. It is always an independent trace,
        even when a fluent span is active in this context."""
        span = runtime.start_span(
            name, span_type, None, inputs, attributes, start_time_ns,
            sampling_ratio=1.0, experiment_id=experiment_id,
        )
        runtime.add_links(span, links)
        if isinstance(span, LiveSpan):
            trace: LiveTrace = span._trace
            trace.destination = self._tracking_uri
            if tags:
                trace.tags.update({str(k): str(v) for k, v in tags.items()})
        return span

    def start_span(
        self,
        name: str,
        trace_id: str | None = None,
        parent_id: str | None = None,
        span_type: str = SpanType.UNKNOWN,
        inputs: Any = None,
        attributes: dict[str, Any] | None = None,
        start_time_ns: int | None = None,
        *,
        request_id: str | None = None,
        links: list[Link] | None = None,
        **ignored: Any,
    ) -> LiveSpan:
        """Starts a child of span ``parent_id`` in trace ``trace_id``."""
        trace_id = resolve_trace_id(trace_id, request_id, "start_span")
        if not parent_id:
            raise MlflowException(
                "start_span() must be called with an explicit parent_id. (lanterna: "
                f"start_span({name!r}) needs parent_id: pass the span_id of the parent span "
                "(the root's is root_span.span_id). To start a new trace, call start_trace().)"
            )
        trace = self._live_trace(trace_id, "start_span", parent_id)
        if parent_id not in trace.open and not self._ended_span(trace, parent_id):
            raise TraceNotFoundError(
                f"Parent span with ID '{parent_id}' not found. (lanterna: start_span({name!r}): "
                f"no span {parent_id!r} in trace {trace_id!r}. Pass the span_id of a span of "
                "this trace as parent_id.)"
            )
        span = runtime.new_span(trace, parent_id, name, span_type, inputs, attributes,
                                start_time_ns)
        runtime.add_links(span, links)
        return span

    def end_span(
        self,
        trace_id: str | None = None,
        span_id: str | None = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: SpanStatus | str = "OK",
        end_time_ns: int | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        """Ends span ``span_id``. An unknown or already ended span gets one warning, nothing
        else (the program keeps running)."""
        trace_id = resolve_trace_id(trace_id, request_id, "end_span")
        trace = runtime.live_traces.get(trace_id)
        span = trace.open.get(span_id) if trace is not None and span_id else None
        if span is None or span is trace.root:  # type: ignore[union-attr]
            hint = ("it is the trace's root span: end it with end_trace()"
                    if span is not None else
                    "it was already ended or never started; call end_span once per start_span")
            _log.warning("end_span: no open span %r in trace %r; %s.", span_id, trace_id, hint)
            return
        span.end(outputs=outputs, attributes=attributes, status=status,
                 end_time_ns=end_time_ns)

    def end_trace(
        self,
        trace_id: str | None = None,
        outputs: Any = None,
        attributes: dict[str, Any] | None = None,
        status: SpanStatus | str = "OK",
        end_time_ns: int | None = None,
        *,
        request_id: str | None = None,
    ) -> None:
        """Ends the trace's root span. Children still open are ended first, as ERROR with a
        note saying they were not ended, so the trace is stored whole."""
        trace_id = resolve_trace_id(trace_id, request_id, "end_trace")
        with self._lock:
            trace = runtime.live_traces.get(trace_id)
            if trace is None or trace.root is None or trace.root.is_ended:
                raise TraceNotFoundError(
                    f"Trace with ID '{trace_id}' not found. (lanterna: end_trace: trace "
                    f"{trace_id!r} is not open: it was already ended or never started. Call "
                    "end_trace once per start_trace, with the id it returned.)"
                )
            root = trace.root
            open_children = reaper.end_open_children(
                trace, "this span was not ended before end_trace() ended its trace"
            )
        if open_children:
            _log.warning(
                "end_trace: %d span(s) of trace %r were still open; they were ended as ERROR. "
                "End every span with end_span before end_trace.", open_children, trace_id,
            )
        root.end(outputs=outputs, attributes=attributes, status=status, end_time_ns=end_time_ns)

    def _live_trace(self, trace_id: str, caller: str, parent_id: str) -> LiveTrace:
        trace = runtime.live_traces.get(trace_id)
        if trace is None:
            raise TraceNotFoundError(
                f"Parent span with ID '{parent_id}' not found. (lanterna: {caller}: trace "
                f"{trace_id!r} is not open: it was already ended or never started. Use the "
                "trace id that start_trace() returned (root_span.trace_id).)"
            )
        return trace

    @staticmethod
    def _ended_span(trace: LiveTrace, span_id: str) -> bool:
        """True if ``span_id`` is an already ended span of the (still open) trace."""
        setup.flush()
        return any(span.span_id == span_id for span in list(trace.finished))

    # -- stored traces -------------------------------------------------------------------------
    def get_trace(
        self, trace_id: str | None = None, display: bool = True, *, request_id: str | None = None
    ) -> Trace:
        """The trace with this id; raises if there is none (the fluent one returns None)."""
        trace_id = resolve_trace_id(trace_id, request_id, "get_trace")
        setup.flush()
        trace = recorded_trace(trace_id, self._tracking_uri)
        if trace is None:
            raise TraceNotFoundError(
                f"Trace with ID '{trace_id}' not found. (lanterna: the fluent "
                "lanterna.get_trace returns None instead of raising.)")
        return trace

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = _DEFAULT_PAGE,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        run_id: str | None = None,
        include_spans: bool = True,
        model_id: str | None = None,
        locations: Sequence[str] | None = None,
        **ignored: Any,
    ) -> PagedList:
        """One page of stored traces; pass ``.token`` of the result as ``page_token`` for the
        next page. Arguments are checked as MLflow checks them."""
        from lanterna import _store_fluent as fluent
        from lanterna.store.base import MAX_PAGE_SIZE

        if (isinstance(max_results, bool) or not isinstance(max_results, int)
                or max_results < 1 or max_results > MAX_PAGE_SIZE):
            raise MlflowException(
                f"Invalid value {max_results} for parameter 'max_results' supplied. It must be "
                f"at most {MAX_PAGE_SIZE}" + ("" if isinstance(max_results, int)
                                              and max_results > 0 else " and at least 1") + ".")
        ids = fluent._active_experiment_ids(experiment_ids, locations)
        for name, value in (("run_id", run_id), ("model_id", model_id)):
            if value is not None:
                key = "run_id" if name == "run_id" else "metadata.`mlflow.modelId`"
                clause = f"{key} = {fluent.quote(value)}"
                filter_string = f"({filter_string}) AND {clause}" if filter_string else clause
        setup.flush()
        page, token = self._store().search_traces(
            experiment_ids=ids, filter_string=filter_string, max_results=max_results,
            order_by=order_by, page_token=page_token, include_spans=include_spans,
        )
        return PagedList(page, token)

    # -- experiments -----------------------------------------------------------------------------
    def create_experiment(
        self, name: str, artifact_location: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> str:
        """Create an experiment; returns its id. Raises if the name is taken."""
        from lanterna import _store_fluent as fluent

        return fluent.create_experiment(name, artifact_location, tags,
                                        tracking_uri=self._tracking_uri)

    def get_experiment(self, experiment_id: str) -> Any:
        from lanterna import _store_fluent as fluent

        return fluent.get_experiment(experiment_id, tracking_uri=self._tracking_uri)

    def get_experiment_by_name(self, name: str) -> Any:
        from lanterna import _store_fluent as fluent

        return fluent.get_experiment_by_name(name, tracking_uri=self._tracking_uri)

    def search_experiments(
        self,
        view_type: int = 1,
        max_results: int | None = 1000,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
    ) -> Any:
        from lanterna import _store_fluent as fluent

        return fluent.search_experiments(view_type, max_results, filter_string, order_by,
                                         page_token, tracking_uri=self._tracking_uri)

    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        from lanterna import _store_fluent as fluent

        return fluent.delete_traces(experiment_id, max_timestamp_millis, max_traces, trace_ids,
                                    tracking_uri=self._tracking_uri)

    def set_trace_tag(
        self, trace_id: str | None = None, key: str = "", value: Any = "", *,
        request_id: str | None = None,
    ) -> None:
        from lanterna._traces import set_trace_tag

        set_trace_tag(resolve_trace_id(trace_id, request_id, "set_trace_tag"), key, value)

    def delete_trace_tag(
        self, trace_id: str | None = None, key: str = "", *, request_id: str | None = None
    ) -> None:
        from lanterna._traces import delete_trace_tag

        delete_trace_tag(resolve_trace_id(trace_id, request_id, "delete_trace_tag"), key)

    def _store(self) -> Any:
        from lanterna.store import uri

        return uri.get_store(self._tracking_uri)


MlflowClient = Client
