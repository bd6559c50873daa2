"""SQLite's full-text index, kept up to date just behind the writes.

Trigram indexing costs more than writing the span itself, so it is not done inside the export
transaction: spans are written (and durable) at once, and the export thread indexes them in
small steps whenever it is idle, and at exit. ``lanterna_fts_state.indexed_upto`` marks how far
the index goes (span ``seq`` values only grow, never reused); a search asks the index for rows
up to the mark and scans the rows above it, which are few, so results are always complete.
PostgreSQL needs none of this: its GIN trigram index is updated by the write itself.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: Spans indexed per transaction: short enough not to hold the write lock for long.
STEP = 2_000

_MARK = text("SELECT indexed_upto FROM lanterna_fts_state WHERE id = 1")
_NEXT_MARK = text(
    "SELECT max(seq) FROM (SELECT seq FROM spans WHERE seq > :mark ORDER BY seq LIMIT :step)"
)
_INDEX = text(
    "INSERT INTO spans_fts(rowid, search_text) "
    "SELECT seq, search_text FROM spans WHERE seq > :mark AND seq <= :upto"
)
_MOVE_MARK = text("UPDATE lanterna_fts_state SET indexed_upto = :upto WHERE id = 1")
_PENDING = text(
    "SELECT count(*) FROM (SELECT 1 FROM spans WHERE seq > "
    "(SELECT indexed_upto FROM lanterna_fts_state WHERE id = 1) LIMIT :limit)"
)


def index_step(connection: Connection, step: int = STEP) -> bool:
    """Index the next ``step`` unindexed spans (in a write transaction); True if more remain."""
    mark = int(connection.execute(_MARK).scalar_one())
    upto = connection.execute(_NEXT_MARK, {"mark": mark, "step": step}).scalar()
    if upto is None:
        return False
    connection.execute(_INDEX, {"mark": mark, "upto": int(upto)})
    connection.execute(_MOVE_MARK, {"upto": int(upto)})
    return True


def pending(connection: Connection, limit: int) -> int:
    """How many spans wait to be indexed (counting no further than ``limit``)."""
    return int(connection.execute(_PENDING, {"limit": limit}).scalar_one())


def mark_subquery() -> Any:
    """The index's high-water mark, as a scalar subquery for search conditions."""
    from sqlalchemy import column, select, table

    state = table("lanterna_fts_state", column("indexed_upto"), column("id"))
    return select(state.c.indexed_upto).where(state.c.id == 1).scalar_subquery()
