"""The OpenAPI 3.0 document of lanterna's REST API, written by hand (a test checks it against
the routes, and a schemathesis run checks the server against it)."""

from __future__ import annotations

from typing import Any

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = _json(_ref("Error"), "An error: bad input (4xx), or the store unavailable (503).")

_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "example": "INVALID_PARAMETER_VALUE"},
                    "message": {"type": "string"},
                    "position": {
                        "type": "integer",
                        "description": "Where in the filter the error is (0-based).",
                    },
                },
            }
        },
    },
    "Experiment": {
        "type": "object",
        "required": ["experiment_id", "name", "creation_time"],
        "properties": {
            "experiment_id": {"type": "string"},
            "name": {"type": "string"},
            "creation_time": {"type": "integer", "description": "ms since the epoch"},
            "trace_count": {"type": "integer"},
        },
    },
    "Session": {
        "type": "object",
        "required": ["session_id", "trace_count", "first_timestamp_ms", "last_timestamp_ms"],
        "properties": {
            "session_id": {"type": "string"},
            "trace_count": {"type": "integer"},
            "first_timestamp_ms": {"type": "integer", "description": "ms since the epoch"},
            "last_timestamp_ms": {"type": "integer", "description": "ms since the epoch"},
            "user_id": {"type": "string", "nullable": True},
            "total_tokens": {"type": "integer", "nullable": True},
            "error_count": {"type": "integer"},
        },
    },
    "TraceInfo": {
        "type": "object",
        "required": ["trace_id", "trace_location", "request_time", "state", "trace_metadata",
                     "tags"],
        "properties": {
            "trace_id": {"type": "string"},
            "trace_location": {
                "type": "object",
                "properties": {
                    "type": {"type": "string", "enum": ["MLFLOW_EXPERIMENT"]},
                    "mlflow_experiment": {
                        "type": "object",
                        "properties": {"experiment_id": {"type": "string"}},
                    },
                },
            },
            "request_time": {"type": "string", "description": "RFC 3339, UTC"},
            "state": {"type": "string",
                      "enum": ["STATE_UNSPECIFIED", "OK", "ERROR", "IN_PROGRESS"]},
            "request_preview": {"type": "string", "nullable": True},
            "response_preview": {"type": "string", "nullable": True},
            "client_request_id": {"type": "string", "nullable": True},
            "execution_duration_ms": {"type": "integer", "nullable": True},
            "trace_metadata": _STRING_MAP,
            "tags": _STRING_MAP,
            "assessments": {"type": "array", "items": {}},
        },
    },
    "Span": {
        "type": "object",
        "description": "A span in MLflow 3's exchange format (OTLP field names, base64 ids, "
                       "attribute values as JSON text).",
        "required": ["trace_id", "span_id", "parent_span_id", "name", "start_time_unix_nano",
                     "end_time_unix_nano", "events", "status", "attributes"],
        "properties": {
            "trace_id": {"type": "string"},
            "span_id": {"type": "string"},
            "parent_span_id": {"type": "string", "nullable": True,
                               "description": "null (or empty) for a root span"},
            "name": {"type": "string"},
            "start_time_unix_nano": {"type": "integer"},
            "end_time_unix_nano": {"type": "integer", "nullable": True},
            "events": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "time_unix_nano": {"type": "integer"},
                        "attributes": {"type": "object"},
                    },
                },
            },
            "status": {
                "type": "object",
                "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
            },
            "attributes": {"type": "object"},
        },
    },
    "Trace": {
        "type": "object",
        "required": ["info", "data"],
        "properties": {
            "info": _ref("TraceInfo"),
            "data": {
                "type": "object",
                "required": ["spans"],
                "properties": {"spans": {"type": "array", "items": _ref("Span")}},
            },
        },
    },
    "Skeleton": {
        "type": "object",
        "description": "A trace's spans as columns (one list per field, same order), without "
                       "their content: enough to draw the tree and timeline of a huge trace.",
        "required": ["trace_id", "info", "origin_ns", "span_count", "columns"],
        "properties": {
            "trace_id": {"type": "string"},
            "info": _ref("TraceInfo"),
            "origin_ns": {"type": "string",
                          "description": "The earliest span start, ns since the epoch"},
            "span_count": {"type": "integer"},
            "columns": {
                "type": "object",
                "required": ["span_id", "parent_span_id", "name", "span_type", "status",
                             "start", "end"],
                "properties": {
                    "span_id": {"type": "array", "items": {"type": "string"}},
                    "parent_span_id": {"type": "array",
                                       "items": {"type": "string", "nullable": True}},
                    "name": {"type": "array", "items": {"type": "string"}},
                    "span_type": {"type": "array", "items": {"type": "string"}},
                    "status": {"type": "array",
                               "items": {"type": "string", "enum": ["OK", "ERROR", "UNSET"]}},
                    "start": {"type": "array", "items": {"type": "integer"},
                              "description": "ns after origin_ns"},
                    "end": {"type": "array", "items": {"type": "integer", "nullable": True},
                            "description": "ns after origin_ns; null while the span is open"},
                },
            },
        },
    },
}


def _operation(summary: str, response: dict[str, Any], *, parameters: list[Any] | None = None,
               body: dict[str, Any] | None = None, secured: bool = True) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {"200": response, "default": _ERROR},
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {
            "required": True, "content": {"application/json": {"schema": body}},
        }
    if not secured:
        operation["security"] = []
    return operation


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": {"type": "string"}}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}


_TRACE_ID = _path_param("trace_id", "A trace id ('tr-' + 32 hex digits).")
_TRACE = _json(_ref("Trace"), "The trace.")
_EMPTY = _json({"type": "object"}, "Done.")


def _paths() -> dict[str, Any]:
    return {
        "/health": {"get": _operation(
            "Liveness: answers without a token.",
            _json({"type": "object", "required": ["status"],
                   "properties": {"status": {"type": "string", "enum": ["ok"]}}}, "Alive."),
            secured=False,
        )},
        "/metrics": {"get": _operation(
            "Prometheus metrics (text exposition format).",
            {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}},
        )},
        "/api/v1/openapi.json": {"get": _operation(
            "This document.", _json({"type": "object"}, "The OpenAPI document."),
        )},
        "/api/v1/experiments": {
            "get": _operation(
                "Every experiment with its number of traces.",
                _json({"type": "object", "required": ["experiments"],
                       "properties": {"experiments": {"type": "array",
                                                      "items": _ref("Experiment")}}},
                      "The experiments."),
            ),
            "post": _operation(
                "The experiment with this name, created if needed.",
                _json(_ref("Experiment"), "The experiment."),
                body={"type": "object", "required": ["name"],
                      "properties": {"name": {"type": "string", "minLength": 1,
                                              "maxLength": 256}}},
            ),
        },
        "/api/v1/experiments/{experiment_id}": {"get": _operation(
            "One experiment.", _json(_ref("Experiment"), "The experiment."),
            parameters=[_path_param("experiment_id", "The experiment's id.")],
        )},
        "/api/v1/traces": {"get": _operation(
            "Search traces: filter language, order, pages; with or without spans.",
            _json({"type": "object", "required": ["traces", "next_page_token"],
                   "properties": {
                       "traces": {"type": "array", "items": _ref("Trace")},
                       "next_page_token": {"type": "string", "nullable": True},
                   }}, "One page of traces."),
            parameters=[
                {**_query("experiment_id", {"type": "array", "items": {"type": "string"}},
                          "Experiments to search (repeat for several; none: all)."),
                 "style": "form", "explode": True},
                _query("filter", {"type": "string"},
                       "A filter, e.g. \"tags.env = 'prod' AND execution_time_ms > 100\"."),
                {**_query("order_by", {"type": "array", "items": {"type": "string"}},
                          "Sort keys, e.g. 'timestamp_ms DESC' (repeat for several)."),
                 "style": "form", "explode": True},
                _query("max_results", {"type": "integer", "minimum": 1, "maximum": 5000,
                                       "default": 100}, "Traces per page."),
                _query("page_token", {"type": "string"}, "next_page_token of the last page."),
                _query("include_spans", {"type": "boolean", "default": False},
                       "Include every span of each trace."),
            ],
        )},
        "/api/v1/sessions": {"get": _operation(
            "Sessions: traces grouped by session id, the most recently active first.",
            _json({"type": "object", "required": ["sessions", "next_page_token"],
                   "properties": {
                       "sessions": {"type": "array", "items": _ref("Session")},
                       "next_page_token": {"type": "string", "nullable": True},
                   }}, "One page of sessions."),
            parameters=[
                {**_query("experiment_id", {"type": "array", "items": {"type": "string"}},
                          "Experiments to look in (repeat for several; none: all)."),
                 "style": "form", "explode": True},
                _query("max_results", {"type": "integer", "minimum": 1, "maximum": 5000,
                                       "default": 100}, "Sessions per page."),
                _query("page_token", {"type": "string"}, "next_page_token of the last page."),
            ],
        )},
        "/api/v1/traces/delete": {"post": _operation(
            "Delete traces of an experiment: by id, or older than a time (oldest first).",
            _json({"type": "object", "required": ["deleted"],
                   "properties": {"deleted": {"type": "integer"},
                                  "trace_ids": {"type": "array",
                                                "items": {"type": "string"}}}},
                  "How many traces were deleted, and their ids."),
            body={"type": "object", "required": ["experiment_id"], "properties": {
                "experiment_id": {"type": "string"},
                "trace_ids": {"type": "array", "items": {"type": "string"}},
                "max_timestamp_millis": {"type": "integer", "format": "int64"},
                "max_traces": {"type": "integer", "format": "int64", "minimum": 1},
            }},
        )},
        "/api/v1/traces/infos": {"post": _operation(
            "Upsert trace infos (the SDK's remote mode sends them beside its OTLP spans); "
            "with if_absent, only for traces not stored yet.",
            _json({"type": "object", "required": ["trace_infos"],
                   "properties": {"trace_infos": {"type": "array",
                                                  "items": _ref("TraceInfo")}}},
                  "The infos as stored."),
            body={"type": "object", "required": ["trace_infos"], "properties": {
                "trace_infos": {"type": "array", "items": _ref("TraceInfo"), "maxItems": 10000},
                "if_absent": {"type": "boolean", "default": False},
            }},
        )},
        "/api/v1/traces/{trace_id}": {"get": _operation(
            "A trace with all its spans.", _TRACE, parameters=[_TRACE_ID],
        )},
        "/api/v1/traces/{trace_id}/skeleton": {"get": _operation(
            "A trace's span tree and times without span content.",
            _json(_ref("Skeleton"), "The skeleton."), parameters=[_TRACE_ID],
        )},
        "/api/v1/traces/{trace_id}/spans": {"get": _operation(
            "The full content of some spans of a trace.",
            _json({"type": "object", "required": ["spans"],
                   "properties": {"spans": {"type": "array", "items": _ref("Span")}}},
                  "The spans found (unknown ids are left out)."),
            parameters=[_TRACE_ID, {
                "name": "span_id", "in": "query", "required": True, "style": "form",
                "explode": True, "description": "Span ids (16 hex digits; repeat, up to 1000).",
                "schema": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            }],
        )},
        "/api/v1/traces/{trace_id}/find": {"get": _operation(
            "Spans of a trace whose text (name, inputs, outputs, attributes, events) contains "
            "a string, any case.",
            _json({"type": "object", "required": ["span_ids", "truncated"],
                   "properties": {"span_ids": {"type": "array", "items": {"type": "string"}},
                                  "truncated": {"type": "boolean"}}},
                  "Matching span ids in start order."),
            parameters=[_TRACE_ID,
                        {**_query("text", {"type": "string", "minLength": 1}, "What to find."),
                         "required": True},
                        _query("max_results", {"type": "integer", "minimum": 1,
                                               "maximum": 10000, "default": 10000},
                               "The most span ids returned.")],
        )},
        "/api/v1/traces/{trace_id}/tags/{key}": {
            "put": _operation(
                "Set a tag of a trace.", _EMPTY,
                parameters=[_TRACE_ID, _path_param("key", "The tag key.")],
                body={"type": "object", "required": ["value"],
                      "properties": {"value": {"type": "string"}}},
            ),
            "delete": _operation(
                "Delete a tag of a trace.", _EMPTY,
                parameters=[_TRACE_ID, _path_param("key", "The tag key.")],
            ),
        },
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lanterna")
    except PackageNotFoundError:  # a source tree that was never installed
        return "0"


def document() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "lanterna REST API",
            "version": _version(),
            "description": "Traces, spans and experiments of a lanterna server. Errors are "
                           "{\"error\": {\"code\", \"message\", \"position\"?}}; while the store "
                           "is unavailable requests answer 503 with Retry-After.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "Needed when the server runs with --token.",
            }},
        },
    }
