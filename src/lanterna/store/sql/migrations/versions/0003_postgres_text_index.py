"""PostgreSQL: the trigram index moves off the write path, onto a table of its own.

A span's words (``spans.search_text``) were indexed by the INSERT that wrote the span: a
quarter of the write's cost on the database. They are now copied into ``span_texts``, which
holds the trigram index, by the store's upkeep when the exporter is idle; until then the span
is listed in ``span_texts_pending`` (an append-only table without indexes, written in the same
transaction as the span), and searches scan those few spans directly. SQLite already indexes
off the write path (``lanterna_fts_state``) and is unchanged.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(
        "CREATE TABLE span_texts (trace_id VARCHAR(64) NOT NULL, span_id VARCHAR(32) NOT NULL, "
        "search_text TEXT NOT NULL, CONSTRAINT pk_span_texts PRIMARY KEY (trace_id, span_id))"
    )
    op.execute(
        "CREATE TABLE span_texts_pending (trace_id VARCHAR(64) NOT NULL, "
        "span_id VARCHAR(32) NOT NULL)"
    )
    op.execute("INSERT INTO span_texts SELECT trace_id, span_id, search_text FROM spans")
    op.execute("DROP INDEX IF EXISTS ix_spans_search_text")
    has_trgm = bind.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
    if has_trgm.scalar():  # without it (no permission), full-text search scans
        op.execute(
            "CREATE INDEX ix_spans_search_text ON span_texts USING gin (search_text gin_trgm_ops)"
        )


def downgrade() -> None:
    raise NotImplementedError("lanterna does not downgrade its schema; restore a backup.")
