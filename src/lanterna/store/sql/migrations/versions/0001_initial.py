"""Initial schema: experiments, traces, tags, metadata, spans, full-text index.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQLITE_FULL_TEXT = (
    # External-content FTS5 index over spans.search_text (rowid = spans.seq, never reused); the
    # trigram tokenizer answers substring queries, case-folded. Rows are indexed shortly after
    # they are written (lanterna.store.sql.fulltext), up to lanterna_fts_state.indexed_upto;
    # searches scan the few rows above that mark.
    "CREATE VIRTUAL TABLE spans_fts USING fts5(search_text, content='spans', "
    "content_rowid='seq', tokenize='trigram')",
    "CREATE TABLE lanterna_fts_state (id INTEGER PRIMARY KEY CHECK (id = 1), "
    "indexed_upto INTEGER NOT NULL)",
    "INSERT INTO lanterna_fts_state (id, indexed_upto) VALUES (1, 0)",
    "CREATE TRIGGER spans_fts_delete AFTER DELETE ON spans "
    "WHEN old.seq <= (SELECT indexed_upto FROM lanterna_fts_state WHERE id = 1) BEGIN "
    "INSERT INTO spans_fts(spans_fts, rowid, search_text) "
    "VALUES ('delete', old.seq, old.search_text); END",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    json_type = postgresql.JSONB() if dialect == "postgresql" else sa.Text()
    experiments = op.create_table(
        "experiments",
        sa.Column("experiment_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(256), nullable=False, unique=True),
        sa.Column("creation_time", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(64), primary_key=True),
        sa.Column("experiment_id", sa.String(32), nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("execution_time_ms", sa.BigInteger),
        sa.Column("end_time_ms", sa.BigInteger),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("client_request_id", sa.Text),
        sa.Column("request_preview", sa.Text),
        sa.Column("response_preview", sa.Text),
        sa.Column("session_id", sa.Text),
        sa.Column("user_id", sa.Text),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("total_tokens", sa.BigInteger),
        sa.Column("size_bytes", sa.BigInteger),
    )
    op.create_index(
        "ix_traces_experiment_time", "traces", ["experiment_id", "timestamp_ms", "trace_id"]
    )
    op.create_index("ix_traces_client_request_id", "traces", ["client_request_id"])
    op.create_index("ix_traces_experiment_state_time", "traces",
                    ["experiment_id", "state", "timestamp_ms", "trace_id"])
    for table in ("trace_tags", "trace_metadata"):
        op.create_table(
            table,
            sa.Column("trace_id", sa.String(64), nullable=False),
            sa.Column("key", sa.String(250), nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("trace_id", "key", name=f"pk_{table}"),
        )
    span_columns: list[sa.Column[Any]] = [
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("span_id", sa.String(32), nullable=False),
        sa.Column("parent_span_id", sa.String(32)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("attributes", json_type, nullable=False),
        sa.Column("search_text", sa.Text, nullable=False),
    ]
    if dialect == "postgresql":
        op.create_table(
            "spans", *span_columns,
            sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans"),
        )
    else:  # a monotonic rowid for the full-text index's high-water mark
        op.create_table(
            "spans",
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            *span_columns,
            sa.UniqueConstraint("trace_id", "span_id", name="uq_spans"),
            sqlite_autoincrement=True,
        )
    if dialect == "postgresql":
        _postgresql_indexes()
    else:
        op.create_index("ix_trace_tags_key_value", "trace_tags", ["key", "value"])
        op.create_index("ix_spans_name", "spans", ["name", "trace_id"])
        if dialect == "sqlite":
            for statement in _SQLITE_FULL_TEXT:
                op.execute(statement)
    op.bulk_insert(
        experiments,
        [{"experiment_id": "0", "name": "Default", "creation_time": int(time.time() * 1000)}],
    )


def _postgresql_indexes() -> None:
    # Hash indexes take values of any length (a btree refuses rows over ~2.7 kB).
    op.execute("CREATE INDEX ix_trace_tags_value ON trace_tags USING hash (value)")
    # Span names by their first 256 characters (a btree refuses rows over ~2.7 kB), with the
    # trace id, so "which traces have a span named x" is answered from the index alone.
    op.execute("CREATE INDEX ix_spans_name ON spans (left(name, 256), trace_id)")
    # Full-text: a trigram GIN index answers LIKE, ILIKE and regular expressions. Without
    # permission to create pg_trgm, search still works, by scanning.
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except sa.exc.DBAPIError as exc:
        import logging

        logging.getLogger("lanterna").warning(
            "lanterna could not enable the pg_trgm extension (%s); full-text search will scan "
            "spans. Run CREATE EXTENSION pg_trgm as a superuser and `lanterna db upgrade`.",
            exc.orig,
        )
        return
    op.execute(
        "CREATE INDEX ix_spans_search_text ON spans USING gin (search_text gin_trgm_ops)"
    )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TABLE IF EXISTS spans_fts")
        op.execute("DROP TABLE IF EXISTS lanterna_fts_state")
    for table in ("spans", "trace_metadata", "trace_tags", "traces", "experiments"):
        op.drop_table(table)
