"""A store that talks to a lanterna server: the SDK's remote mode (``http(s)://`` tracking URIs).

Writes: spans go as OTLP protobuf to ``POST /v1/traces`` (so the same export also feeds any
OpenTelemetry collector), trace infos to ``POST /api/v1/traces/infos``. Reads, tags, deletes and
experiments go through lanterna's REST API (``/api/v1``). Every write is idempotent on the
server, so a batch retried after a timeout stores nothing twice.

Failures the export pipeline should retry (the server unreachable, 429, 5xx) raise
``ServerUnavailable``, a ``StoreError``; when the server names a ``Retry-After``, writes raise it
at once, without a request, until that time has passed. Bad requests (4xx) raise an
``MlflowException`` with the server's message.

Standard library HTTP (``http.client``, one keep-alive connection per thread), so remote mode
adds no dependency but ``opentelemetry-proto`` (the ``[otel]`` extra) for the span encoding.
``LANTERNA_TRACKING_TOKEN`` (else ``MLFLOW_TRACKING_TOKEN``) is sent as a bearer token.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo
from lanterna.exceptions import InvalidFilterError, MlflowException, StoreError
from lanterna.settings import setting
from lanterna.store.base import DEFAULT_PAGE_SIZE, Experiment
from lanterna.store.batch import ExportBatch

#: Statuses that mean "try again later" (MLflow's client retries the same ones).
RETRYABLE = frozenset({408, 429, 500, 502, 503, 504})
#: Seconds to wait for the server to answer one request.
TIMEOUT_SECONDS = 30.0
#: The most traces one search page asks for (the server's own cap).
MAX_PAGE = 5_000
#: Spans per OTLP request, and the encoded size past which a request is split further.
SPANS_PER_REQUEST = 1_000
BYTES_PER_REQUEST = 16 * 1024 * 1024
#: Trace ids whose experiment is remembered (spans arrive after their trace's first info).
REMEMBERED_TRACES = 100_000
#: Longest Retry-After honoured, in seconds (a larger one is clipped).
MAX_RETRY_AFTER = 60.0


class ServerUnavailable(StoreError):
    """The server could not be reached or asked to retry later (429, 5xx)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RestStore:
    """The Store protocol over HTTP, for ``uri`` = ``http(s)://host:port[/prefix]``."""

    dialect = "http"
    memory = False

    def __init__(self, uri: str) -> None:
        self.uri = uri.rstrip("/")
        parts = urlsplit(self.uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MlflowException(f"Not a server URI: {uri!r} (expected http://host:port).")
        self.where = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()
        self._open: set[http.client.HTTPConnection] = set()  # every thread's, for dispose()
        self._retry_at = 0.0
        self._experiments: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.connected = False

    def __repr__(self) -> str:
        return f"RestStore({self.where!r})"

    # -- HTTP -----------------------------------------------------------------------------------
    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            connection = kind(self._host, self._port, timeout=TIMEOUT_SECONDS)
            self._local.connection = connection
            with self._lock:
                self._open.add(connection)
        return connection

    def _close(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            with self._lock:
                self._open.discard(connection)
            connection.close()

    def _headers(self, content_type: str | None) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": "lanterna"}
        if content_type:
            headers["Content-Type"] = content_type
        token = setting("tracking_token") or os.environ.get("MLFLOW_TRACKING_TOKEN")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Sequence[tuple[str, Any]] = (),
        body: bytes | None = None,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """One request; (status, body) for any answer but a retryable one. A connection that
        the server closed while idle is reopened once (every request here is idempotent)."""
        target = self._prefix + path + (("?" + urlencode(list(query))) if query else "")
        sent = {**self._headers(content_type), **(headers or {})}
        for attempt in (1, 2):
            connection = self._connection()
            try:
                connection.request(method, target, body=body, headers=sent)
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._close()
                if attempt == 1:
                    continue
                raise ServerUnavailable(f"The lanterna server at {self.where} closed the "
                                        f"connection: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._close()
                raise ServerUnavailable(
                    f"Cannot reach the lanterna server at {self.where}: {exc}"
                ) from exc
            if response.will_close:
                self._close()
            self.connected = True
            status = response.status
            if status in RETRYABLE:
                retry_after = _retry_after(response.getheader("Retry-After"))
                if retry_after:
                    self._retry_at = time.monotonic() + retry_after
                raise ServerUnavailable(
                    f"The lanterna server at {self.where} answered {status} "
                    f"({_message(data)}); retrying"
                    + (f" after {retry_after:g} s" if retry_after else ""),
                    retry_after,
                )
            if status in (401, 403):
                raise MlflowException(
                    f"The lanterna server at {self.where} refused the request ({status}): "
                    f"{_message(data)} Set LANTERNA_TRACKING_TOKEN to the server's token.",
                    error_code="PERMISSION_DENIED",
                )
            return status, data
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, payload: Any = None,
              query: Sequence[tuple[str, Any]] = (), missing_ok: bool = False) -> Any:
        body = None if payload is None else json.dumps(payload).encode()
        status, data = self.request(method, path, query=query, body=body,
                                    content_type="application/json" if body else None)
        if status == 404 and missing_ok:
            return None
        if status >= 400:
            _raise_for(status, data, self.where)
        return json.loads(data) if data else {}

    # -- writes -------------------------------------------------------------------------------
    def write_batch(self, batch: ExportBatch) -> None:
        """Started infos (kept if the server has the trace already), spans as OTLP, then the
        final infos of traces whose root ended here. Idempotent, so a retry is safe."""
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise ServerUnavailable(
                f"The lanterna server at {self.where} asked to retry later ({wait:.1f} s left)",
                wait,
            )
        for info in batch.started:
            self._remember(info)
        whole = [t.info for t in batch.finished if _holds_root(t)]
        parts = [t.info for t in batch.finished if not _holds_root(t)]
        for info in whole + parts:
            self._remember(info)
        if batch.started or parts:
            self._post_infos(list(batch.started) + parts, if_absent=True)
        if batch.spans:
            self._post_spans(batch.spans)
        if whole:
            self._post_infos(whole, if_absent=False)

    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        self._post_spans(spans, experiment_id)

    def log_trace_info(self, info: TraceInfo) -> TraceInfo:
        stored = self._post_infos([info], if_absent=False)
        return stored[0] if stored else info

    def _remember(self, info: TraceInfo) -> None:
        with self._lock:
            self._experiments[info.trace_id] = info.experiment_id or "0"
            self._experiments.move_to_end(info.trace_id)
            while len(self._experiments) > REMEMBERED_TRACES:
                self._experiments.popitem(last=False)

    def _post_infos(self, infos: Sequence[TraceInfo], if_absent: bool) -> list[TraceInfo]:
        answer = self._json("POST", "/api/v1/traces/infos", {
            "trace_infos": [info.to_dict() for info in infos], "if_absent": if_absent,
        })
        return [TraceInfo.from_dict(item) for item in answer.get("trace_infos") or []]

    def _post_spans(self, spans: Sequence[Span], experiment_id: str | None = None) -> None:
        groups: dict[str, list[Span]] = {}
        with self._lock:
            for span in spans:
                chosen = experiment_id or self._experiments.get(span.trace_id, "0")
                groups.setdefault(chosen, []).append(span)
        for chosen, members in groups.items():
            for start in range(0, len(members), SPANS_PER_REQUEST):
                self._send_otlp(members[start : start + SPANS_PER_REQUEST], chosen)

    def _send_otlp(self, spans: Sequence[Span], experiment_id: str) -> None:
        from lanterna.entities._otlp import encode_spans

        payload = encode_spans(spans)
        if len(payload) > BYTES_PER_REQUEST and len(spans) > 1:
            half = len(spans) // 2
            self._send_otlp(spans[:half], experiment_id)
            self._send_otlp(spans[half:], experiment_id)
            return
        status, data = self.request(
            "POST", "/v1/traces", body=payload, content_type="application/x-protobuf",
            headers={"x-lanterna-experiment-id": experiment_id},
        )
        if status >= 400:
            _raise_for(status, data, self.where)
        rejected = _rejected_spans(data)
        if rejected:
            raise MlflowException(
                f"The lanterna server at {self.where} rejected {rejected} of {len(spans)} "
                f"spans: {_rejected_message(data)}"
            )

    # -- reads --------------------------------------------------------------------------------
    def get_trace(self, trace_id: str) -> Trace | None:
        found = self._json("GET", f"/api/v1/traces/{_segment(trace_id)}", missing_ok=True)
        return None if found is None else Trace.from_dict(found)

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> tuple[list[Trace], str | None]:
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise MlflowException(f"max_results must be a positive integer, got {max_results!r}.")
        query: list[tuple[str, Any]] = [("experiment_id", str(e)) for e in experiment_ids or ()]
        if filter_string:
            query.append(("filter", filter_string))
        query.extend(("order_by", key) for key in order_by or ())
        query.append(("max_results", min(max_results, MAX_PAGE)))
        if page_token:
            query.append(("page_token", page_token))
        query.append(("include_spans", "true" if include_spans else "false"))
        page = self._json("GET", "/api/v1/traces", query=query)
        return [Trace.from_dict(t) for t in page["traces"]], page.get("next_page_token")

    def get_trace_skeleton(self, trace_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._json(
            "GET", f"/api/v1/traces/{_segment(trace_id)}/skeleton", missing_ok=True)
        return found

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        wanted = sorted({str(s) for s in span_ids})
        found: list[Span] = []
        for start in range(0, len(wanted), 500):
            query = [("span_id", s) for s in wanted[start : start + 500]]
            page = self._json("GET", f"/api/v1/traces/{_segment(trace_id)}/spans",
                              query=query, missing_ok=True)
            if page is None:
                return []
            found.extend(Span.from_dict(s) for s in page["spans"])
        return found

    def count_traces(self, experiment_ids: Sequence[str] | None = None) -> int:
        counts = {e.experiment_id: n for e, n in self.list_experiments()}
        if not experiment_ids:
            return sum(counts.values())
        return sum(counts.get(str(e), 0) for e in experiment_ids)

    # -- deletes and tags ---------------------------------------------------------------------
    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        return len(self.delete_trace_ids(experiment_id, max_timestamp_millis, max_traces,
                                         trace_ids))

    def delete_trace_ids(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> list[str]:
        payload: dict[str, Any] = {"experiment_id": str(experiment_id)}
        if trace_ids is not None:
            payload["trace_ids"] = [str(t) for t in trace_ids]
        if max_timestamp_millis is not None:
            payload["max_timestamp_millis"] = max_timestamp_millis
        if max_traces is not None:
            payload["max_traces"] = max_traces
        answer = self._json("POST", "/api/v1/traces/delete", payload)
        return [str(t) for t in answer.get("trace_ids") or []]

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> bool:
        path = f"/api/v1/traces/{_segment(trace_id)}/tags/{quote(key, safe='')}"
        return self._json("PUT", path, {"value": value}, missing_ok=True) is not None

    def delete_trace_tag(self, trace_id: str, key: str) -> bool:
        path = f"/api/v1/traces/{_segment(trace_id)}/tags/{quote(key, safe='')}"
        return self._json("DELETE", path, missing_ok=True) is not None

    # -- experiments --------------------------------------------------------------------------
    def get_or_create_experiment(self, name: str) -> Experiment:
        if not isinstance(name, str) or not name.strip():
            raise MlflowException("An experiment name must be a non-empty string.")
        return _experiment(self._json("POST", "/api/v1/experiments", {"name": name}))

    def get_experiment(self, experiment_id: str) -> Experiment | None:
        found = self._json("GET", f"/api/v1/experiments/{_segment(str(experiment_id))}",
                           missing_ok=True)
        return None if found is None else _experiment(found)

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        for experiment, _count in self.list_experiments():
            if experiment.name == name:
                return experiment
        return None

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        listed = self._json("GET", "/api/v1/experiments")["experiments"]
        return [(_experiment(e), int(e.get("trace_count") or 0)) for e in listed]

    # -- upkeep -------------------------------------------------------------------------------
    def engine(self) -> None:
        """Checks that the server answers (what opening the SQL store's engine checks)."""
        self._json("GET", "/api/v1/experiments")

    def upgrade(self) -> str:
        raise MlflowException(
            f"{self.where} is a lanterna server: it migrates its own database "
            "(run `lanterna db upgrade --uri <its database>` where the server runs)."
        )

    def maintain(self, busy: Callable[[], bool] | None = None,
                 budget: float | None = None) -> bool:
        return True  # the server looks after its database

    def dispose(self) -> None:
        """Close every thread's connection (a thread still using one reopens it)."""
        with self._lock:
            connections, self._open = list(self._open), set()
        for connection in connections:
            connection.close()
        self._local = threading.local()

    def after_fork(self) -> None:
        """In a forked child: never share the parent's sockets."""
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open = set()


def _holds_root(trace: Trace) -> bool:
    return any(span.parent_id is None for span in trace.data.spans)


def _segment(value: str) -> str:
    return quote(str(value), safe="")


def _experiment(data: dict[str, Any]) -> Experiment:
    return Experiment(str(data["experiment_id"]), str(data.get("name") or ""),
                      int(data.get("creation_time") or 0))


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds form; an HTTP date is read as 1 s)."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return 1.0
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _message(data: bytes) -> str:
    try:
        error = json.loads(data)["error"]
        return str(error.get("message") or error.get("code"))
    except Exception:
        text = data[:300].decode("utf-8", "replace").strip()
        return text or "no details"


def _raise_for(status: int, data: bytes, where: str) -> None:
    message = _message(data)
    try:
        error = json.loads(data).get("error") or {}
    except Exception:
        error = {}
    if status == 400 and "position" in error:
        raise InvalidFilterError(message, position=error.get("position"))
    code = "RESOURCE_DOES_NOT_EXIST" if status == 404 else "INVALID_PARAMETER_VALUE"
    raise MlflowException(f"{message} (lanterna server at {where}, HTTP {status})",
                          error_code=code)


def _rejected_spans(data: bytes) -> int:
    """``partial_success.rejected_spans`` of an OTLP export response (0 when absent)."""
    if not data:
        return 0
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        response = ExportTraceServiceResponse()
        response.ParseFromString(data)
        return int(response.partial_success.rejected_spans)
    except Exception:  # a JSON or empty answer: nothing rejected that we can tell
        return 0


def _rejected_message(data: bytes) -> str:
    try:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceResponse,
        )

        response = ExportTraceServiceResponse()
        response.ParseFromString(data)
        return str(response.partial_success.error_message) or "no details"
    except Exception:
        return "no details"
