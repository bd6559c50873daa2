"""The server's Prometheus metrics, served at ``/metrics``.

Ingest code counts through the small functions below (``spans_received(n, "otlp")``, …) so the
metric names and labels stay in one place. With ``lanterna server --workers N`` each worker
process writes its counts to ``PROMETHEUS_MULTIPROC_DIR`` (the command sets it) and any worker
answers ``/metrics`` with the sum over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

disable_created_metrics()  # type: ignore[no-untyped-call]  # the ``*_created`` series only double the output

SPANS_RECEIVED = Counter(
    "lanterna_spans_received", "Spans received by the server, by way in.", ["source"]
)
SPANS_WRITTEN = Counter(
    "lanterna_spans_written", "Spans written to the store, by way in.", ["source"]
)
SPANS_REJECTED = Counter(
    "lanterna_spans_rejected", "Spans refused (invalid, too large, …), by reason.", ["reason"]
)
STORE_ERRORS = Counter(
    "lanterna_store_errors", "Store operations that failed (unreachable, busy, refused).",
    ["operation"],
)
REQUEST_LATENCY = Histogram(
    "lanterna_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template, method and status.",
    ["route", "method", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

#: Label values shown (at zero) from the start, so dashboards and alerts see every series.
SOURCES = ("otlp", "mlflow", "rest")
REJECT_REASONS = ("invalid", "too_large", "store_refused")
OPERATIONS = ("request", "ingest")
for _source in SOURCES:
    SPANS_RECEIVED.labels(_source)
    SPANS_WRITTEN.labels(_source)
for _reason in REJECT_REASONS:
    SPANS_REJECTED.labels(_reason)
for _operation in OPERATIONS:
    STORE_ERRORS.labels(_operation)


def spans_received(count: int, source: str) -> None:
    """``source``: "otlp", "mlflow" or "rest"."""
    if count:
        SPANS_RECEIVED.labels(source).inc(count)


def spans_written(count: int, source: str) -> None:
    if count:
        SPANS_WRITTEN.labels(source).inc(count)


def spans_rejected(count: int, reason: str) -> None:
    """``reason``: a short stable word (``REJECT_REASONS`` or a new one)."""
    if count:
        SPANS_REJECTED.labels(reason).inc(count)


def store_error(operation: str) -> None:
    STORE_ERRORS.labels(operation).inc()


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(route, method, str(status)).observe(seconds)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
