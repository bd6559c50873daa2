"""lanterna's REST API under ``/api/v1`` (JSON; errors in ``server/errors.py``'s shape).

Traces are MLflow 3's exchange format (``Trace.to_dict()``). Store calls block, so each runs in
Starlette's thread pool.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lanterna.entities.trace_info import TraceInfo
from lanterna.server.api import openapi, params
from lanterna.server.errors import invalid, not_found
from lanterna.store.base import DEFAULT_PAGE_SIZE, Experiment

TYPE_CHECKING = False
if TYPE_CHECKING:
    from lanterna.server.app import ServerState

PREFIX = "/api/v1"
#: The most traces one page of ``GET /api/v1/traces`` holds.
MAX_PAGE = 5_000
#: The most span ids one ``GET …/spans`` request may name.
MAX_SPAN_IDS = 1_000
#: The most trace infos one ``POST /api/v1/traces/infos`` request may carry.
MAX_INFOS = 10_000


def routes(state: ServerState) -> list[BaseRoute]:
    api = Api(state)
    return [
        Route(f"{PREFIX}/openapi.json", api.openapi_document, methods=["GET"]),
        Route(f"{PREFIX}/experiments", api.list_experiments, methods=["GET"]),
        Route(f"{PREFIX}/experiments", api.create_experiment, methods=["POST"]),
        Route(f"{PREFIX}/experiments/{{experiment_id}}", api.get_experiment, methods=["GET"]),
        Route(f"{PREFIX}/traces", api.search_traces, methods=["GET"]),
        Route(f"{PREFIX}/sessions", api.list_sessions, methods=["GET"]),
        Route(f"{PREFIX}/traces/delete", api.delete_traces, methods=["POST"]),
        Route(f"{PREFIX}/traces/infos", api.log_trace_infos, methods=["POST"]),
        Route(f"{PREFIX}/traces/{{trace_id}}", api.get_trace, methods=["GET"]),
        Route(f"{PREFIX}/traces/{{trace_id}}/skeleton", api.get_skeleton, methods=["GET"]),
        Route(f"{PREFIX}/traces/{{trace_id}}/spans", api.get_spans, methods=["GET"]),
        Route(f"{PREFIX}/traces/{{trace_id}}/find", api.find_spans, methods=["GET"]),
        Route(f"{PREFIX}/traces/{{trace_id}}/tags/{{key:path}}", api.set_tag, methods=["PUT"]),
        Route(f"{PREFIX}/traces/{{trace_id}}/tags/{{key:path}}", api.delete_tag,
              methods=["DELETE"]),
    ]


class ColumnsResponse(JSONResponse):
    """JSON encoded by orjson: a 100,000-span skeleton (8 MB) in 15 ms instead of the standard
    library's 57 ms. A value orjson refuses (an integer past 64 bits) falls back to it."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content)
        except TypeError:
            return super().render(content)


def experiment_dict(experiment: Experiment, trace_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "experiment_id": experiment.experiment_id,
        "name": experiment.name,
        "creation_time": experiment.creation_time,
    }
    if trace_count is not None:
        data["trace_count"] = trace_count
    return data


class Api:
    def __init__(self, state: ServerState) -> None:
        self.state = state

    @property
    def store(self) -> Any:
        return self.state.store

    async def openapi_document(self, request: Request) -> Response:
        return JSONResponse(openapi.document())

    # -- experiments ----------------------------------------------------------------------
    async def list_experiments(self, request: Request) -> Response:
        found = await run_in_threadpool(self.store.list_experiments)
        return JSONResponse({"experiments": [experiment_dict(e, n) for e, n in found]})

    async def create_experiment(self, request: Request) -> Response:
        data = await params.json_object(request)
        name = params.string_field(data, "name")
        experiment = await run_in_threadpool(self.store.get_or_create_experiment, name)
        return JSONResponse(experiment_dict(experiment))

    async def get_experiment(self, request: Request) -> Response:
        experiment_id = str(request.path_params["experiment_id"])
        experiment = await run_in_threadpool(self.store.get_experiment, experiment_id)
        if experiment is None:
            raise not_found(f"No experiment with id {experiment_id[:80]!r}.")
        return JSONResponse(experiment_dict(experiment))

    # -- traces ---------------------------------------------------------------------------
    async def search_traces(self, request: Request) -> Response:
        query = request.query_params
        experiment_ids = query.getlist("experiment_id")
        filter_string = query.get("filter") or None
        order_by = [value for value in query.getlist("order_by") if value] or None
        max_results = params.integer(request, "max_results", DEFAULT_PAGE_SIZE, 1, MAX_PAGE)
        include_spans = params.boolean(request, "include_spans", False)
        page_token = query.get("page_token") or None
        found, token = await run_in_threadpool(
            lambda: self.store.search_traces(
                experiment_ids=experiment_ids or None, filter_string=filter_string,
                max_results=max_results, order_by=order_by, page_token=page_token,
                include_spans=include_spans,
            )
        )
        return JSONResponse({"traces": [t.to_dict() for t in found], "next_page_token": token})

    async def list_sessions(self, request: Request) -> Response:
        """Traces grouped by session id, the most recently active session first."""
        query = request.query_params
        experiment_ids = query.getlist("experiment_id")
        max_results = params.integer(request, "max_results", DEFAULT_PAGE_SIZE, 1, MAX_PAGE)
        page_token = query.get("page_token") or None
        found, token = await run_in_threadpool(
            self.store.list_sessions, experiment_ids or None, max_results, page_token)
        return JSONResponse({"sessions": found, "next_page_token": token})

    async def get_trace(self, request: Request) -> Response:
        trace_id = params.trace_id(request)
        trace = await run_in_threadpool(self.store.get_trace, trace_id)
        if trace is None:
            raise not_found(f"No trace with id {trace_id!r}.")
        return JSONResponse(trace.to_dict())

    async def get_skeleton(self, request: Request) -> Response:
        trace_id = params.trace_id(request)
        skeleton = await run_in_threadpool(self.store.get_trace_skeleton, trace_id)
        if skeleton is None:
            raise not_found(f"No trace with id {trace_id!r}.")
        return ColumnsResponse(skeleton)

    async def get_spans(self, request: Request) -> Response:
        trace_id = params.trace_id(request)
        wanted = params.span_ids(request.query_params.getlist("span_id"))
        if not wanted:
            raise invalid("Name the spans to fetch: ?span_id=<16 hex digits>&span_id=...")
        if len(wanted) > MAX_SPAN_IDS:
            raise invalid(f"At most {MAX_SPAN_IDS} span ids per request, got {len(wanted)}.")
        found = await run_in_threadpool(self.store.get_spans, trace_id, wanted)
        if not found and not await self._exists(trace_id):
            raise not_found(f"No trace with id {trace_id!r}.")
        return JSONResponse({"spans": [span.to_dict() for span in found]})

    async def find_spans(self, request: Request) -> Response:
        """Ids of the trace's spans whose text (name, inputs, outputs, attributes, events)
        contains ``text``, any case, in start order; ``truncated`` when there were more."""
        trace_id = params.trace_id(request)
        text = request.query_params.get("text") or ""
        if not text:
            raise invalid("Say what to find: ?text=<words>")
        limit = params.integer(request, "max_results", 10_000, 1, 10_000)
        found = await run_in_threadpool(self.store.find_spans, trace_id, text, limit + 1)
        if not found and not await self._exists(trace_id):
            raise not_found(f"No trace with id {trace_id!r}.")
        return JSONResponse({"span_ids": found[:limit], "truncated": len(found) > limit})

    async def _exists(self, trace_id: str) -> bool:
        return bool(await run_in_threadpool(self.store.get_trace_infos, [trace_id]))

    async def delete_traces(self, request: Request) -> Response:
        data = await params.json_object(request)
        experiment_id = params.string_field(data, "experiment_id")
        trace_ids = params.string_list_field(data, "trace_ids")
        max_timestamp = params.int_field(data, "max_timestamp_millis")
        max_traces = params.int_field(data, "max_traces")
        deleted = await run_in_threadpool(
            self.store.delete_trace_ids, experiment_id, max_timestamp, max_traces, trace_ids
        )
        return JSONResponse({"deleted": len(deleted), "trace_ids": deleted})

    async def log_trace_infos(self, request: Request) -> Response:
        """Upsert trace infos (the SDK's remote mode sends them beside its OTLP spans). With
        ``if_absent`` an info only fills in a trace the store does not have yet (a trace seen
        running, or the part of a trace continued from another process)."""
        data = await params.json_object(request)
        raw = data.get("trace_infos")
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise invalid("'trace_infos' must be a list of trace info objects.")
        if len(raw) > MAX_INFOS:
            raise invalid(f"At most {MAX_INFOS} trace infos per request, got {len(raw)}.")
        if_absent = data.get("if_absent", False)
        if not isinstance(if_absent, bool):
            raise invalid("'if_absent' must be true or false.")
        infos = [_trace_info(item) for item in raw]
        stored = await run_in_threadpool(self._log_infos, infos, if_absent)
        return JSONResponse({"trace_infos": [info.to_dict() for info in stored]})

    def _log_infos(self, infos: list[TraceInfo], if_absent: bool) -> list[TraceInfo]:
        stored: list[TraceInfo] = self.store.log_trace_infos(infos, if_absent=if_absent)
        return stored

    async def set_tag(self, request: Request) -> Response:
        trace_id = params.trace_id(request)
        key = str(request.path_params["key"])
        data = await params.json_object(request)
        value = params.string_field(data, "value")
        await self._change_tag(trace_id, key, value)
        return JSONResponse({})

    async def delete_tag(self, request: Request) -> Response:
        trace_id = params.trace_id(request)
        await self._change_tag(trace_id, str(request.path_params["key"]), None)
        return JSONResponse({})

    async def _change_tag(self, trace_id: str, key: str, value: str | None) -> None:
        if not key:
            raise invalid("A tag key must not be empty.")
        if value is None:
            found = await run_in_threadpool(self.store.delete_trace_tag, trace_id, key)
        else:
            found = await run_in_threadpool(self.store.set_trace_tag, trace_id, key, value)
        if not found:
            raise not_found(f"No trace with id {trace_id!r}.")


def _trace_info(item: dict[str, Any]) -> TraceInfo:
    try:
        info = TraceInfo.from_dict(item)
    except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as exc:
        raise invalid(f"Invalid trace info: {exc}.") from None
    for name, value in (("request_time", info.request_time),
                        ("execution_duration", info.execution_duration)):
        if value is not None and not params.INT64_MIN <= value <= params.INT64_MAX:
            raise invalid(f"A trace info's {name} must fit in 64 bits, got {value}.")
    if not params.TRACE_ID.fullmatch(info.trace_id):
        raise invalid(f"Invalid trace id {info.trace_id[:80]!r} in a trace info.")
    return info
