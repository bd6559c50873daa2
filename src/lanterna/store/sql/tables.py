"""The tables, as SQLAlchemy Core metadata (the migrations in ``migrations/`` create them).

A trace is one row of ``traces`` (its metadata one JSON object) and its tags (rows of
``trace_tags``, which an index lists by value); a span is one row of ``spans``, its values in
columns so that search, the UI's skeleton and ``get_trace`` read only what they need.

Indexes that differ between engines (full-text, hash indexes on PostgreSQL) live in the
migrations only; the query code never depends on them being present, only faster with them.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import postgresql

metadata = MetaData()

#: JSON objects queried by key: JSONB on PostgreSQL (``->``, ``->>``), JSON text on SQLite.
JsonText = Text().with_variant(postgresql.JSONB(), "postgresql")

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", String(32), primary_key=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("creation_time", BigInteger, nullable=False),
)

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(64), primary_key=True),
    Column("experiment_id", String(32), nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("execution_time_ms", BigInteger),
    Column("end_time_ms", BigInteger),
    Column("state", String(32), nullable=False),
    Column("name", Text),
    Column("client_request_id", Text),
    Column("request_preview", Text),
    Column("response_preview", Text),
    Column("session_id", Text),
    Column("user_id", Text),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("total_tokens", BigInteger),
    Column("size_bytes", BigInteger),
    # The trace's metadata: one JSON object of strings (``metadata.<key>`` filters read it).
    Column("metadata", JsonText),
    Index("ix_traces_experiment_time", "experiment_id", "timestamp_ms", "trace_id"),
    Index("ix_traces_client_request_id", "client_request_id"),
)

trace_tags = Table(
    "trace_tags",
    metadata,
    Column("trace_id", String(64), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("trace_id", "key", name="pk_trace_tags"),
)

spans = Table(
    "spans",
    metadata,
    Column("trace_id", String(64), nullable=False),
    Column("span_id", String(32), nullable=False),
    Column("parent_span_id", String(32)),
    Column("name", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", Text),
    Column("start_time_ns", BigInteger, nullable=False),
    Column("end_time_ns", BigInteger),
    # JSON text of the span's inputs and outputs (NULL when there are none).
    Column("inputs", Text),
    Column("outputs", Text),
    # The other attributes and the span type, decoded (not JSON-in-JSON), one JSON object:
    # ``span.attributes.<k>`` filters read it. Text on both engines: read back exactly as
    # written (jsonb would reorder keys and refuse NUL), parsed only by the filters that ask.
    Column("attributes", Text, nullable=False),
    # JSON lists of MLflow's event dicts and of the span's links; NULL when it has none.
    Column("events", Text),
    Column("links", Text),
    # The span's words (name, string and number values): what full-text search indexes.
    Column("search_text", Text, nullable=False),
    PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
)
