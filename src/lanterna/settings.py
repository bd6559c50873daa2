"""Every setting of lanterna in one table: name, environment variable, default, type, meaning.

A test checks that each one is documented in the README.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Setting:
    """One setting: its name, environment variable, default, type and meaning. ``mlflow_env``
    is MLflow's variable for the same thing, honoured when the ``LANTERNA_*`` one is unset."""

    __slots__ = ("name", "env", "default", "kind", "doc", "mlflow_env")

    def __init__(self, name: str, env: str, default: Any, kind: type, doc: str,
                 mlflow_env: str | None = None) -> None:
        self.name = name
        self.env = env
        self.default = default
        self.kind = kind
        self.doc = doc
        self.mlflow_env = mlflow_env

    def read(self) -> Any:
        raw = os.environ.get(self.env)
        env = self.env
        if (raw is None or raw == "") and self.mlflow_env is not None:
            raw, env = os.environ.get(self.mlflow_env), self.mlflow_env
        if raw is None or raw == "":
            return self.default
        try:
            if self.kind is bool:
                return raw.strip().lower() in ("1", "true", "yes", "on")
            value = self.kind(raw.strip())
        except ValueError:
            return _refuse(env, raw, f"not a valid {_KIND_NAMES.get(self.kind, 'value')}",
                           self.default)
        rule = _RULES.get(self.name)
        if rule is not None:
            problem, safe = rule(value)
            if problem:
                return _refuse(env, raw, problem, safe)
        return value


def _refuse(env: str, raw: str, problem: str, safe: Any) -> Any:
    """One warning per variable and value (settings are read more than once)."""
    if (env, raw) not in _warned:
        _warned.add((env, raw))
        from lanterna import _log

        _log.warning("Ignoring %s=%r: %s; using %r.", env, raw, problem, safe)
    return safe


_warned: set[tuple[str, str]] = set()
_KIND_NAMES = {int: "whole number", float: "number", str: "text"}


def _positive(value: Any) -> tuple[str, Any]:
    return ("it must be 1 or more", None) if value < 1 else ("", value)


def _ratio(value: float) -> tuple[str, Any]:
    if value != value:
        return "it must be a number from 0 to 1", 1.0
    if not 0.0 <= value <= 1.0:
        return "it must be from 0 to 1", min(1.0, max(0.0, value))
    return "", value


def _seconds(value: float) -> tuple[str, Any]:
    if value != value or value == float("inf"):
        return "it must be a finite number of seconds", None
    return "", value  # 0 or below: no timeout


def check_sampling_ratio(value: Any) -> float:
    """``sampling_ratio`` given in code: a number from 0 to 1, or a clear error."""
    from lanterna.exceptions import MlflowException

    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise MlflowException(
            f"sampling_ratio must be a number from 0 to 1 (1 keeps every trace), got {value!r}."
        )
    return float(value)


SETTINGS: tuple[Setting, ...] = (
    Setting("tracking_uri", "LANTERNA_TRACKING_URI", None, str,
            "Where traces go: sqlite:///path, postgresql://..., memory://, or a lanterna "
            "server (http://host:port). Default sqlite:///lanterna.db in the working directory.",
            mlflow_env="MLFLOW_TRACKING_URI"),
    Setting("tracking_token", "LANTERNA_TRACKING_TOKEN", None, str,
            "Bearer token sent to a lanterna server (else MLFLOW_TRACKING_TOKEN)."),
    Setting("server_token", "LANTERNA_SERVER_TOKEN", None, str,
            "The token `lanterna server` requires (as --token does)."),
    Setting("sampling_ratio", "LANTERNA_TRACE_SAMPLING_RATIO", 1.0, float,
            "Fraction of traces kept, decided at the root; children follow their root.",
            mlflow_env="MLFLOW_TRACE_SAMPLING_RATIO"),
    Setting("propagate_to_threads", "LANTERNA_PROPAGATE_TO_THREADS", True, bool,
            "Functions submitted to a ThreadPoolExecutor inside a span become its children."),
    Setting("trace_timeout_seconds", "LANTERNA_TRACE_TIMEOUT_SECONDS", None, float,
            "A trace still open after this many seconds is ended as ERROR and stored.",
            mlflow_env="MLFLOW_TRACE_TIMEOUT_SECONDS"),
    Setting("experiment_name", "LANTERNA_EXPERIMENT_NAME", None, str,
            "The experiment new traces go to (created when missing), until set_experiment.",
            mlflow_env="MLFLOW_EXPERIMENT_NAME"),
    Setting("experiment_id", "LANTERNA_EXPERIMENT_ID", None, str,
            "The experiment id new traces go to, until set_experiment; wins over the name.",
            mlflow_env="MLFLOW_EXPERIMENT_ID"),
    Setting("export_queue_size", "LANTERNA_EXPORT_QUEUE_SIZE", 200_000, int,
            "Finished spans waiting for export; past it spans are dropped and counted."),
    Setting("export_memory_queue", "LANTERNA_EXPORT_MEMORY_QUEUE", 2_048, int,
            "Finished spans kept in memory while they wait for export; past it, traces of one "
            "span wait in a temporary file, written back in batches of 1/8 of it (more: a "
            "backlog drains faster, with more memory)."),
    Setting("export_batch_size", "LANTERNA_EXPORT_BATCH_SIZE", 10_000, int,
            "Most spans written to the store in one transaction."),
    Setting("export_to", "LANTERNA_EXPORT_TO", None, str,
            "Where finished spans go: store, otlp, or store,otlp. Default: store, plus otlp "
            "when an OTLP endpoint is set."),
    Setting("otlp_endpoint", "LANTERNA_OTLP_ENDPOINT", None, str,
            "OTLP/HTTP traces URL (http://collector:4318/v1/traces); else "
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces."),
    Setting("otlp_headers", "LANTERNA_OTLP_HEADERS", None, str,
            "Headers sent to the OTLP endpoint (key=value,key2=value2); else "
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS, else OTEL_EXPORTER_OTLP_HEADERS."),
    Setting("otlp_timeout_seconds", "LANTERNA_OTLP_TIMEOUT_SECONDS", 10.0, float,
            "How long one OTLP request may take before it is retried."),
    Setting("otlp_export_captured", "LANTERNA_OTLP_EXPORT_CAPTURED", False, bool,
            "Also send spans captured from an OpenTelemetry provider over OTLP (off: the "
            "provider's own exporters send them, so none is exported twice)."),
    Setting("max_stream_events", "LANTERNA_MAX_STREAM_EVENTS", 1_000, int,
            "Most items of a traced generator recorded as span events; the rest are counted "
            "in lanterna.omittedChunkEvents (the output keeps every item)."),
    Setting("trace_cache_bytes", "LANTERNA_TRACE_CACHE_BYTES", 256 * 1024 * 1024, int,
            "Most bytes of finished traces kept in process for get_trace; older ones are read "
            "back from the store."),
    Setting("raise_internal_errors", "LANTERNA_RAISE_INTERNAL_ERRORS", False, bool,
            "Re-raise lanterna's own internal errors instead of logging them (for tests)."),
)


def _size_rule(name: str) -> Any:
    def rule(value: int) -> tuple[str, Any]:
        problem, _ = _positive(value)
        return problem, next(item.default for item in SETTINGS if item.name == name)

    return rule


_RULES: dict[str, Any] = {
    "sampling_ratio": _ratio,
    "trace_timeout_seconds": _seconds,
    "export_queue_size": _size_rule("export_queue_size"),
    "export_batch_size": _size_rule("export_batch_size"),
    "export_memory_queue": _size_rule("export_memory_queue"),
    "max_stream_events": lambda value: (("it must be 0 or more", 1_000) if value < 0
                                        else ("", value)),
    "trace_cache_bytes": _size_rule("trace_cache_bytes"),
}


def setting(name: str) -> Any:
    for item in SETTINGS:
        if item.name == name:
            return item.read()
    raise KeyError(name)
