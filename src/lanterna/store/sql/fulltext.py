"""The full-text index, kept up to date just behind the writes, on both engines.

Trigram indexing costs more than writing the span itself, so it is not done inside the export
transaction: spans are written (and durable) at once, and the export thread indexes them in
small steps whenever it is idle, and at exit. A search asks the index about the spans it
covers and scans the others, which are few, so results are always complete.

SQLite: ``lanterna_fts_state.indexed_upto`` marks how far the FTS5 index goes (span ``seq``
values only grow, never reused, and SQLite has one writer at a time).

PostgreSQL: several processes write at once and a sequence's values commit out of order, so
no mark can say what is indexed. Each write lists its spans in ``span_texts_pending`` (same
transaction); a step moves listed spans' words into ``span_texts`` (which holds the GIN
trigram index) and deletes the listing, atomically, skipping rows another step holds. A span
is always in exactly one of the two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import column, select, table, text
from sqlalchemy.engine import Connection

from lanterna.store.sql import engine

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


# -- SQLite: which trigrams to ask the index about -------------------------------------------
#: Trigrams of a searched text whose frequency is probed (spread evenly over it), and how many
#: of the rarest the index query ANDs.
PROBED_TRIGRAMS = 12
QUERY_TRIGRAMS = 3
#: A trigram's frequency is read from the rowid of its match at this rank: the further, the
#: rarer (one short read of the index).
_PROBE_RANK = 200
_RANKED_MATCH = text(
    "SELECT rowid FROM spans_fts WHERE spans_fts MATCH :term ORDER BY rowid "
    "LIMIT 1 OFFSET :rank"
)


def trigram_query(connection: Connection, runs: Sequence[str]) -> str | None:
    """The FTS5 query listing the spans that may hold every literal run of 3+ characters: its
    rarest trigrams, ANDed. None when no run is long enough for the index.

    Why not the runs as phrases: a phrase reads the doclists and positions of all its trigrams,
    and common ones are in nearly every span ("topic-123" over 1,000,000 traces: "top", "opi",
    "pic" are in all of them; 21 ms). Its three rarest trigrams list a few more spans in 1.6 ms,
    and the search checks each candidate with LIKE anyway."""
    trigrams = list(dict.fromkeys(
        run[i:i + 3].lower() for run in runs for i in range(len(run) - 2)))
    if not trigrams:
        return None
    if len(trigrams) > PROBED_TRIGRAMS:
        gap = len(trigrams) / PROBED_TRIGRAMS
        trigrams = [trigrams[int(i * gap)] for i in range(PROBED_TRIGRAMS)]

    def farthest_match(trigram: str) -> float:
        row = connection.execute(_RANKED_MATCH, {"term": _quoted(trigram),
                                                 "rank": _PROBE_RANK}).first()
        return float("inf") if row is None else float(row[0])

    if len(trigrams) > QUERY_TRIGRAMS:
        trigrams = sorted(trigrams, key=farthest_match, reverse=True)[:QUERY_TRIGRAMS]
    return " AND ".join(_quoted(t) for t in trigrams)


def _quoted(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


# -- PostgreSQL -----------------------------------------------------------------------------
SPAN_TEXTS = table("span_texts", column("trace_id"), column("span_id"), column("search_text"))
PENDING = table("span_texts_pending", column("trace_id"), column("span_id"))
#: Spans moved into the index per PostgreSQL transaction.
POSTGRES_STEP = 1_000

_ENQUEUE = "COPY span_texts_pending (trace_id, span_id) FROM STDIN"
_MOVE = text(
    "WITH moved AS ("
    " DELETE FROM span_texts_pending WHERE ctid = ANY(ARRAY("
    "  SELECT ctid FROM span_texts_pending LIMIT :step FOR UPDATE SKIP LOCKED))"
    " RETURNING trace_id, span_id),"
    " copied AS ("
    " INSERT INTO span_texts (trace_id, span_id, search_text)"
    " SELECT DISTINCT s.trace_id, s.span_id, s.search_text"
    " FROM moved JOIN spans AS s USING (trace_id, span_id)"
    " ON CONFLICT DO NOTHING RETURNING 1)"
    " SELECT count(*) FROM moved"
)


def enqueue(connection: Connection, span_rows: list[tuple[Any, ...]]) -> None:
    """PostgreSQL: list the spans just written (rows starting with trace id, span id) for
    indexing. ``COPY``: the list has no index or constraint, so it cannot fail on a row."""
    with engine.driver(connection).cursor() as cursor, cursor.copy(_ENQUEUE) as copy:
        write_row = copy.write_row
        for row in span_rows:
            write_row(row[:2])


def index_step_postgres(connection: Connection, step: int = POSTGRES_STEP) -> bool:
    """Move up to ``step`` listed spans into the index; True if more may remain."""
    return int(connection.execute(_MOVE, {"step": step}).scalar_one()) >= step


def mark_subquery() -> Any:
    """The index's high-water mark, as a scalar subquery for search conditions."""
    state = table("lanterna_fts_state", column("indexed_upto"), column("id"))
    return select(state.c.indexed_upto).where(state.c.id == 1).scalar_subquery()
