"""The tables, as SQLAlchemy Core metadata (the migrations in ``migrations/`` create them).

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

#: ``spans.attributes`` is JSONB on PostgreSQL (queried with ``->``), JSON text on SQLite.
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

trace_metadata = Table(
    "trace_metadata",
    metadata,
    Column("trace_id", String(64), nullable=False),
    Column("key", String(250), nullable=False),
    Column("value", Text, nullable=False),
    PrimaryKeyConstraint("trace_id", "key", name="pk_trace_metadata"),
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
    Column("start_time_ns", BigInteger, nullable=False),
    Column("end_time_ns", BigInteger),
    # The span as MLflow 3's exchange dict (``Span.to_dict()``), JSON text.
    Column("content", Text, nullable=False),
    # Attribute values decoded (not JSON-in-JSON), for ``span.attributes.<k>`` filters.
    Column("attributes", JsonText, nullable=False),
    # The span's words (name, string and number values): what full-text search indexes.
    Column("search_text", Text, nullable=False),
    PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
)
