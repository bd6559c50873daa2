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
            return self.kind(raw)
        except ValueError:
            from lanterna import _log

            _log.warning("Ignoring %s=%r: not a valid %s; using %r.", env, raw,
                         self.kind.__name__, self.default)
            return self.default


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
    Setting("export_batch_size", "LANTERNA_EXPORT_BATCH_SIZE", 2_000, int,
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
    Setting("raise_internal_errors", "LANTERNA_RAISE_INTERNAL_ERRORS", False, bool,
            "Re-raise lanterna's own internal errors instead of logging them (for tests)."),
)


def setting(name: str) -> Any:
    for item in SETTINGS:
        if item.name == name:
            return item.read()
    raise KeyError(name)
