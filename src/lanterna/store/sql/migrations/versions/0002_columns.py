"""Spans as columns, trace metadata as one JSON column.

A span's stored ``content`` (MLflow's exchange dict as JSON, attribute values JSON-in-JSON) is
split into columns: status message, inputs, outputs, attributes (decoded, one JSON object, as
before), events, links; the ``trace_metadata`` table becomes ``traces.metadata``. Every value is
carried over exactly as the public API reads it: the conversion runs in Python, chunk by chunk,
through the same decoding the previous release used. SQLite keeps each span's ``seq`` (and so
its full-text index entry); PostgreSQL's full-text index is rebuilt on the new table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_CHUNK = 5_000
_NEW_SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "type", "status", "status_message",
    "start_time_ns", "end_time_ns", "inputs", "outputs", "attributes", "events", "links",
    "search_text",
)


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    _metadata_column(bind, postgres)
    _span_columns(bind, postgres)


# -- traces.metadata ----------------------------------------------------------------------------
def _metadata_column(bind: Any, postgres: bool) -> None:
    from lanterna.store.sql import codec

    op.add_column("traces", sa.Column("metadata", postgresql.JSONB() if postgres else sa.Text()))
    rows = bind.exec_driver_sql(
        "SELECT trace_id, key, value FROM trace_metadata ORDER BY trace_id"
    )
    update = (
        "UPDATE traces SET metadata = %s::jsonb WHERE trace_id = %s" if postgres
        else "UPDATE traces SET metadata = ? WHERE trace_id = ?"
    )
    pending: list[tuple[str, str]] = []
    current: str | None = None
    values: dict[str, str] = {}
    for trace_id, key, value in rows.fetchall():
        if trace_id != current:
            if current is not None:
                pending.append((codec.dumps(values), current))
            current, values = trace_id, {}
        values[key] = value
    if current is not None:
        pending.append((codec.dumps(values), current))
    for start in range(0, len(pending), _CHUNK):
        bind.exec_driver_sql(update, pending[start : start + _CHUNK])
    op.drop_table("trace_metadata")


# -- spans ------------------------------------------------------------------------------------
def _span_columns(bind: Any, postgres: bool) -> None:
    columns: list[sa.Column[Any]] = [
        sa.Column("trace_id", sa.String(64), nullable=False),
        sa.Column("span_id", sa.String(32), nullable=False),
        sa.Column("parent_span_id", sa.String(32)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("start_time_ns", sa.BigInteger, nullable=False),
        sa.Column("end_time_ns", sa.BigInteger),
        sa.Column("inputs", sa.Text),
        sa.Column("outputs", sa.Text),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("events", sa.Text),
        sa.Column("links", sa.Text),
        sa.Column("search_text", sa.Text, nullable=False),
    ]
    if postgres:
        op.create_table("spans_v2", *columns,
                        sa.PrimaryKeyConstraint("trace_id", "span_id", name="pk_spans_v2"))
        sequence = None
    else:
        op.create_table(
            "spans_v2",
            sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
            *columns,
            sa.UniqueConstraint("trace_id", "span_id", name="uq_spans_v2"),
            sqlite_autoincrement=True,
        )
        sequence = bind.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'spans'"
        ).scalar()
    _copy_spans(bind, postgres)
    op.drop_table("spans")
    op.rename_table("spans_v2", "spans")
    if postgres:
        op.execute("ALTER TABLE spans RENAME CONSTRAINT pk_spans_v2 TO pk_spans")
        _postgresql_span_indexes()
    else:
        # Keep seq values growing past every one ever used (the full-text mark relies on it).
        if sequence is not None:
            bind.exec_driver_sql(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'spans'", (sequence,)
            )
        op.execute("CREATE INDEX ix_spans_name ON spans (name, trace_id)")
        op.execute(
            "CREATE TRIGGER spans_fts_delete AFTER DELETE ON spans "
            "WHEN old.seq <= (SELECT indexed_upto FROM lanterna_fts_state WHERE id = 1) BEGIN "
            "INSERT INTO spans_fts(spans_fts, rowid, search_text) "
            "VALUES ('delete', old.seq, old.search_text); END"
        )


def _old_spans(bind: Any, postgres: bool) -> Iterator[list[Any]]:
    """The old rows in chunks, by keyset (a server-side cursor is not needed)."""
    if postgres:
        select = ("SELECT trace_id, span_id, parent_span_id, name, type, status, start_time_ns, "
                  "end_time_ns, content, search_text FROM spans WHERE (trace_id, span_id) > "
                  "(%s, %s) ORDER BY trace_id, span_id LIMIT " + str(_CHUNK))
        after: tuple[Any, ...] = ("", "")
    else:
        select = ("SELECT seq, trace_id, span_id, parent_span_id, name, type, status, "
                  "start_time_ns, end_time_ns, content, search_text FROM spans WHERE seq > ? "
                  "ORDER BY seq LIMIT " + str(_CHUNK))
        after = (0,)
    while True:
        chunk = list(bind.exec_driver_sql(select, after).fetchall())
        if not chunk:
            return
        yield chunk
        last = chunk[-1]
        after = (last[0], last[1]) if postgres else (last[0],)


def _copy_spans(bind: Any, postgres: bool) -> None:
    listed = ", ".join(_NEW_SPAN_COLUMNS)
    if postgres:
        marks = ", ".join("%s" for _ in _NEW_SPAN_COLUMNS)
        insert = f"INSERT INTO spans_v2 ({listed}) VALUES ({marks})"
    else:
        marks = ", ".join("?" for _ in range(len(_NEW_SPAN_COLUMNS) + 1))
        insert = f"INSERT INTO spans_v2 (seq, {listed}) VALUES ({marks})"
    for chunk in _old_spans(bind, postgres):
        converted = []
        head: tuple[Any, ...]
        for row in chunk:
            if postgres:
                head, (content, search_text) = (), row[8:10]
                fixed = row[:8]
            else:
                head, (content, search_text) = (row[0],), row[9:11]
                fixed = row[1:9]
            converted.append((*head, *_convert(fixed, content, search_text, postgres)))
        bind.exec_driver_sql(insert, converted)


def _convert(fixed: Any, content: str, search_text: str, postgres: bool) -> tuple[Any, ...]:
    """One old row as the new columns, values read exactly as the old release read them."""
    from lanterna.entities.span import Span, SpanAttributeKey
    from lanterna.store.sql import codec

    trace_id, span_id, parent_id, name, kind, status, start, end = fixed
    span = Span.from_dict(json.loads(content))
    inputs, outputs, own = span.inputs, span.outputs, span.own_attributes
    attributes = codec.dumps({SpanAttributeKey.SPAN_TYPE: span.span_type, **own})
    events, links = span.events, span.links
    return (
        trace_id, span_id, parent_id, name, kind, status,
        span.status.description or None, start, end,
        None if inputs is None else codec.dumps(inputs),
        None if outputs is None else codec.dumps(outputs),
        attributes,
        codec.dumps([e.to_dict() for e in events]) if events else None,
        codec.dumps([link.to_dict() for link in links]) if links else None,
        search_text,
    )


def _postgresql_span_indexes() -> None:
    op.execute("CREATE INDEX ix_spans_name ON spans (left(name, 256), trace_id)")
    bind = op.get_bind()
    has_trgm = bind.exec_driver_sql(
        "SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'"
    ).scalar()
    if has_trgm:
        op.execute(
            "CREATE INDEX ix_spans_search_text ON spans USING gin (search_text gin_trgm_ops)"
        )


def downgrade() -> None:
    raise NotImplementedError("lanterna does not downgrade its schema; restore a backup.")
