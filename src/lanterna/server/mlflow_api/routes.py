"""MLflow's tracking-server trace endpoints, so an unmodified ``mlflow`` 3.x client logs and
reads its traces here.

What a client does (measured against MLflow 3.17.2; see the reference notes): it asks
``/version`` (3.4 and later switches span logging to OTLP), sends the spans to ``/v1/traces``
(served by ``server/otlp``) and the trace info to StartTraceV3; when the reply's tags do not say
the spans are in the tracking store yet, it also PUTs them as ``traces.json`` to the
``mlflow-artifacts`` location the ``mlflow.artifactLocation`` tag names. Both copies land in
the same table, idempotent by span id, so a trace is stored once. Reads come back from the
database in MLflow's protobuf-JSON shapes; ``traces.json`` is rendered from it.

Every other MLflow path answers 404 ``ENDPOINT_NOT_FOUND``, which the client takes as "not
supported here" and falls back where it can.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from lanterna.entities.span import Span
from lanterna.entities.trace_info import TraceInfo
from lanterna.exceptions import InvalidFilterError, MlflowException
from lanterna.server import errors, metrics
from lanterna.server.app import ServerState
from lanterna.server.mlflow_api import shapes

#: The MLflow version this server speaks for (3.4+ makes clients send spans over OTLP).
MLFLOW_VERSION = "3.17.2"
SEARCH_MAX_RESULTS = 500

Handler = Callable[[Request], Awaitable[Response]]


class MlflowError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _not_found(what: str) -> MlflowError:
    return MlflowError(404, "RESOURCE_DOES_NOT_EXIST", what)


def _invalid(message: str) -> MlflowError:
    return MlflowError(400, "INVALID_PARAMETER_VALUE", message)


def routes(state: ServerState) -> list[BaseRoute]:
    api = _MlflowApi(state)
    v2, v3 = "/api/2.0/mlflow", "/api/3.0/mlflow"
    table: list[tuple[str, str, Handler]] = [
        ("/version", "GET", api.version),
        (f"{v2}/experiments/get-by-name", "GET", api.experiment_by_name),
        (f"{v2}/experiments/create", "POST", api.create_experiment),
        (f"{v2}/experiments/get", "GET", api.get_experiment),
        (f"{v2}/experiments/search", "POST", api.search_experiments),
        (f"{v2}/experiments/search", "GET", api.search_experiments),
        (f"{v3}/traces", "POST", api.start_trace_v3),
        (f"{v3}/traces/get", "GET", api.get_trace),
        (f"{v3}/traces/batchGet", "GET", api.batch_get_traces),
        (f"{v3}/traces/batchGetInfos", "POST", api.batch_get_trace_infos),
        (f"{v3}/traces/search", "POST", api.search_traces),
        (f"{v2}/traces/delete-traces", "POST", api.delete_traces),
        (f"{v3}/traces/delete-traces", "POST", api.delete_traces),
        (f"{v2}/traces/{{trace_id}}/tags", "PATCH", api.set_tag),
        (f"{v3}/traces/{{trace_id}}/tags", "PATCH", api.set_tag),
        (f"{v2}/traces/{{trace_id}}/tags", "DELETE", api.delete_tag),
        (f"{v3}/traces/{{trace_id}}/tags", "DELETE", api.delete_tag),
        (f"{v2}/traces/{{trace_id}}/info", "GET", api.get_trace_info_v2),
        (f"{v3}/traces/{{trace_id}}", "GET", api.get_trace_info),
        ("/api/2.0/mlflow-artifacts/artifacts/{exp}/traces/{trace_id}/artifacts/traces.json",
         "PUT", api.put_traces_json),
        ("/api/2.0/mlflow-artifacts/artifacts/{exp}/traces/{trace_id}/artifacts/traces.json",
         "GET", api.get_traces_json),
    ]
    found: list[BaseRoute] = [
        Route(path, _guarded(handler), methods=[method]) for path, method, handler in table
    ]
    for prefix in ("/api/2.0/", "/api/3.0/", "/ajax-api/"):
        found.append(Route(prefix + "{path:path}", _endpoint_not_found,
                           methods=["GET", "POST", "PUT", "PATCH", "DELETE"]))
    return found


def _guarded(handler: Handler) -> Handler:
    """MLflow's error shape for everything a handler raises."""

    async def guarded(request: Request) -> Response:
        try:
            return await handler(request)
        except MlflowError as exc:
            return _error(exc.status, exc.code, exc.message)
        except InvalidFilterError as exc:
            return _error(400, "INVALID_PARAMETER_VALUE", exc.message)
        except MlflowException as exc:
            return _error(400, "INVALID_PARAMETER_VALUE", exc.message)
        except Exception as exc:
            if errors.is_outage(exc):
                metrics.store_error("mlflow_api")
                return _error(503, "TEMPORARILY_UNAVAILABLE",
                              "The trace store is unavailable; retry shortly.",
                              {"Retry-After": str(errors.RETRY_AFTER_SECONDS)})
            raise

    return guarded


def _error(status: int, code: str, message: str,
           headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error_code": code, "message": message}, status_code=status,
                        headers=headers)


async def _endpoint_not_found(request: Request) -> Response:
    return _error(404, "ENDPOINT_NOT_FOUND",
                  f"{request.method} {request.url.path} is not served by lanterna's MLflow "
                  "tracking-server endpoints.")


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if not body:
        return {}
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise _invalid(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise _invalid("The request body must be a JSON object.")
    return data


async def _arguments(request: Request) -> dict[str, Any]:
    """GET requests carry their fields in the query string, others in a JSON body."""
    if request.method == "GET":
        query = request.query_params
        return {key: (query.getlist(key) if len(query.getlist(key)) > 1 else query[key])
                for key in query}
    data = await _json_body(request)
    for key, value in request.query_params.items():
        data.setdefault(key, value)
    return data


def _text(data: dict[str, Any], key: str, *others: str) -> str:
    for name in (key, *others):
        value = data.get(name)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    raise _invalid(f"Missing value for required parameter '{key}'.")


class _MlflowApi:
    def __init__(self, state: ServerState) -> None:
        self.state = state

    @property
    def store(self) -> Any:
        return self.state.store

    async def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await run_in_threadpool(method, *args, **kwargs)

    # -- version and experiments --------------------------------------------------------------
    async def version(self, request: Request) -> Response:
        return Response(MLFLOW_VERSION, media_type="text/plain")

    async def experiment_by_name(self, request: Request) -> Response:
        name = _text(await _arguments(request), "experiment_name")
        found = await self._call(self.store.get_experiment_by_name, name)
        if found is None:
            raise _not_found(f"Could not find experiment with name '{name}'")
        return JSONResponse({"experiment": shapes.experiment(found)})

    async def create_experiment(self, request: Request) -> Response:
        name = _text(await _arguments(request), "name")
        existing = await self._call(self.store.get_experiment_by_name, name)
        if existing is not None:
            raise MlflowError(400, "RESOURCE_ALREADY_EXISTS",
                              f"Experiment '{name}' already exists.")
        created = await self._call(self.store.get_or_create_experiment, name)
        return JSONResponse({"experiment_id": created.experiment_id})

    async def get_experiment(self, request: Request) -> Response:
        experiment_id = _text(await _arguments(request), "experiment_id")
        found = await self._call(self.store.get_experiment, experiment_id)
        if found is None:
            raise _not_found(f"No Experiment with id={experiment_id} exists")
        return JSONResponse({"experiment": shapes.experiment(found)})

    async def search_experiments(self, request: Request) -> Response:
        data = await _arguments(request)
        listed = await self._call(self.store.list_experiments)
        experiments = [shapes.experiment(e) for e, _count in listed]
        filter_string = str(data.get("filter") or "")
        name = shapes.name_filter(filter_string)
        if name is not None:
            experiments = [e for e in experiments if e["name"] == name]
        return JSONResponse({"experiments": experiments})

    # -- traces -------------------------------------------------------------------------------
    async def start_trace_v3(self, request: Request) -> Response:
        data = await _json_body(request)
        raw = (data.get("trace") or {}).get("trace_info")
        if not isinstance(raw, dict) or not raw.get("trace_id"):
            raise _invalid("StartTraceV3 takes {\"trace\": {\"trace_info\": {...}}} with a "
                           "trace_id.")
        try:
            info = TraceInfo.from_dict(raw)
        except (TypeError, ValueError, KeyError) as exc:
            raise _invalid(f"The trace_info cannot be read: {exc}") from exc
        stored = await self._call(self.store.log_trace_info, info)
        with_spans = await self._call(self.store.traces_with_spans, [info.trace_id])
        return JSONResponse({"trace": {"trace_info": shapes.trace_info(stored, with_spans)}})

    async def get_trace_info(self, request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        info, with_spans = await self._info(trace_id)
        return JSONResponse({"trace": {"trace_info": shapes.trace_info(info, with_spans)}})

    async def get_trace_info_v2(self, request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        info, with_spans = await self._info(trace_id)
        return JSONResponse({"trace_info": shapes.trace_info_v2(info, with_spans)})

    async def _info(self, trace_id: str) -> tuple[TraceInfo, set[str]]:
        found = await self._call(self.store.get_trace_infos, [trace_id])
        if not found:
            raise _not_found(f"Trace with ID '{trace_id}' not found.")
        with_spans = await self._call(self.store.traces_with_spans, [trace_id])
        return found[0], with_spans

    async def get_trace(self, request: Request) -> Response:
        trace_id = _text(await _arguments(request), "trace_id")
        trace = await self._call(self.store.get_trace, trace_id)
        if trace is None:
            raise _not_found(f"Trace with ID '{trace_id}' not found.")
        return JSONResponse({"trace": shapes.trace(trace)})

    async def batch_get_traces(self, request: Request) -> Response:
        ids = _list(request.query_params.getlist("trace_ids"))
        traces = [t for t in [await self._call(self.store.get_trace, i) for i in ids]
                  if t is not None]
        return JSONResponse({"traces": [shapes.trace(t) for t in traces]})

    async def batch_get_trace_infos(self, request: Request) -> Response:
        ids = _list((await _json_body(request)).get("trace_ids"))
        infos = await self._call(self.store.get_trace_infos, ids)
        with_spans = await self._call(self.store.traces_with_spans, ids)
        return JSONResponse({"trace_infos": [shapes.trace_info(i, with_spans) for i in infos]})

    async def search_traces(self, request: Request) -> Response:
        data = await _json_body(request)
        experiment_ids = []
        for location in data.get("locations") or []:
            experiment = (location or {}).get("mlflow_experiment") or {}
            if experiment.get("experiment_id") is not None:
                experiment_ids.append(str(experiment["experiment_id"]))
        experiment_ids.extend(str(e) for e in data.get("experiment_ids") or [])
        max_results = data.get("max_results") or 100
        if not isinstance(max_results, int) or not 0 < max_results <= SEARCH_MAX_RESULTS:
            raise _invalid(f"max_results must be between 1 and {SEARCH_MAX_RESULTS}.")
        order_by = data.get("order_by") or None
        traces, token = await self._call(
            self.store.search_traces, experiment_ids or None, data.get("filter") or None,
            max_results, order_by, data.get("page_token") or None, False,
        )
        ids = [t.info.trace_id for t in traces]
        with_spans = await self._call(self.store.traces_with_spans, ids)
        body: dict[str, Any] = {"traces": [shapes.trace_info(t.info, with_spans)
                                           for t in traces]}
        if token:
            body["next_page_token"] = token
        return JSONResponse(body)

    async def delete_traces(self, request: Request) -> Response:
        data = await _arguments(request)
        experiment_id = _text(data, "experiment_id")
        ids = data.get("request_ids") or data.get("trace_ids") or None
        deleted = await self._call(
            self.store.delete_traces, experiment_id, data.get("max_timestamp_millis"),
            data.get("max_traces"), _list(ids) if ids else None,
        )
        return JSONResponse({"traces_deleted": deleted})

    async def set_tag(self, request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        data = await _arguments(request)
        key = _text(data, "key")
        value = data.get("value")
        if not isinstance(value, str):
            raise _invalid("A trace tag's value must be a string.")
        if not await self._call(self.store.set_trace_tag, trace_id, key, value):
            raise _not_found(f"Trace with ID '{trace_id}' not found.")
        return JSONResponse({})

    async def delete_tag(self, request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        key = _text(await _arguments(request), "key")
        if not await self._call(self.store.delete_trace_tag, trace_id, key):
            raise _not_found(f"Trace with ID '{trace_id}' not found.")
        return JSONResponse({})

    # -- traces.json artifacts ----------------------------------------------------------------
    async def put_traces_json(self, request: Request) -> Response:
        experiment_id = request.path_params["exp"]
        body = await request.body()
        try:
            data = json.loads(body)
            spans = [Span.from_dict(item) for item in data["spans"]]
        except (ValueError, TypeError, KeyError) as exc:
            raise _invalid(f"traces.json must be {{\"spans\": [...]}} in MLflow's span "
                           f"format: {exc}") from exc
        trace_id = request.path_params["trace_id"]
        spans = [s for s in spans if s.trace_id == trace_id]
        metrics.spans_received(len(spans), "mlflow")
        await self._call(self.store.log_spans, experiment_id, spans)
        metrics.spans_written(len(spans), "mlflow")
        return JSONResponse({})

    async def get_traces_json(self, request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        trace = await self._call(self.store.get_trace, trace_id)
        if trace is None:
            raise _not_found(f"No traces.json stored for trace '{trace_id}'.")
        payload = json.dumps({"spans": [s.to_dict() for s in trace.data.spans]})
        return Response(payload, media_type="application/json")


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]
