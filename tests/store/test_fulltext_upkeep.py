"""Full-text indexing stays off the write path on both engines (issue 15): a write only lists
its spans for the index; searches find them before and after the upkeep indexes them; the
upkeep indexes each span once even with several stores at it; deleting a trace leaves nothing
in the index's tables."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
import trace_batches
from sqlalchemy import text

from lanterna.store.batch import ExportBatch
from lanterna.store.sql.store import SqlStore
from lanterna.testing.databases import store_uri  # noqa: F401


@pytest.fixture()
def store(store_uri: str) -> Iterator[SqlStore]:  # noqa: F811
    opened = SqlStore(store_uri)
    try:
        yield opened
    finally:
        opened.dispose()


def batch_of(traces: int, word: str) -> tuple[ExportBatch, list[str]]:
    made = trace_batches.traces_of(traces, lambda i: f'"{word}-{i} asks"')
    return trace_batches.batch_of(made), [t.info.trace_id for t in made]


def unindexed(store: SqlStore) -> int:
    with store.engine().connect() as connection:
        if store.dialect == "postgresql":
            sql = "SELECT count(*) FROM span_texts_pending"
        else:
            sql = ("SELECT count(*) FROM spans WHERE seq > "
                   "(SELECT indexed_upto FROM lanterna_fts_state)")
        return int(connection.execute(text(sql)).scalar_one())


def found(store: SqlStore, filter_string: str) -> set[str]:
    traces, _ = store.search_traces(filter_string=filter_string, max_results=500,
                                    include_spans=False)
    return {t.info.trace_id for t in traces}


def test_writes_only_list_spans_and_searches_see_them_either_way(store: SqlStore) -> None:
    batch, ids = batch_of(20, "zebra")
    store.write_batch(batch)
    assert unindexed(store) >= 60  # the write did not index them
    assert found(store, "trace.text LIKE '%zebra-7 %'") == {ids[7]}
    assert found(store, "trace.text ILIKE '%ZEBRA-1%'") == {ids[1], *ids[10:20]}
    assert store.maintain()
    assert unindexed(store) == 0
    assert found(store, "trace.text LIKE '%zebra-7 %'") == {ids[7]}
    assert found(store, "trace.text ILIKE '%ZEBRA-1%'") == {ids[1], *ids[10:20]}
    more, later = batch_of(5, "zebra")  # indexed and listed spans in one search
    store.write_batch(more)
    assert found(store, "trace.text LIKE '%zebra-3 %'") == {ids[3], later[3]}


def test_several_stores_index_at_once_and_each_span_once(store_uri: str) -> None:  # noqa: F811
    writer = SqlStore(store_uri)
    others = [SqlStore(store_uri) for _ in range(3)]
    try:
        for _ in range(4):
            writer.write_batch(batch_of(300, "quokka")[0])
        errors: list[BaseException] = []

        def upkeep(one: SqlStore) -> None:
            try:
                one._indexed_all = False  # as after a write of its own
                one.index_pending()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=upkeep, args=(s,)) for s in [writer, *others]]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors
        assert unindexed(writer) == 0
        index = "span_texts" if writer.dialect == "postgresql" else "spans_fts_docsize"
        with writer.engine().connect() as connection:
            indexed = connection.execute(text(f"SELECT count(*) FROM {index}")).scalar_one()
            written = connection.execute(text("SELECT count(*) FROM spans")).scalar_one()
        assert indexed == written  # every span once (the module's other tests' too)
        assert len(found(writer, "trace.text LIKE '%quokka-299 %'")) == 4
    finally:
        for one in [writer, *others]:
            one.dispose()


def test_deleting_a_trace_leaves_nothing_to_find(store: SqlStore) -> None:
    batch, ids = batch_of(4, "ibex")
    store.write_batch(batch)
    store.maintain()
    more, later = batch_of(2, "ibex")
    store.write_batch(more)  # listed, not indexed yet
    assert store.delete_traces("0", trace_ids=[ids[0], later[0]]) == 2
    assert found(store, "trace.text LIKE '%ibex-0 %'") == set()
    if store.dialect == "postgresql":
        with store.engine().connect() as connection:
            for table in ("span_texts", "span_texts_pending"):
                left = connection.execute(text(
                    f"SELECT count(*) FROM {table} WHERE trace_id IN (:a, :b)"),
                    {"a": ids[0], "b": later[0]}).scalar_one()
                assert left == 0, table


def test_a_replayed_batch_stores_and_indexes_each_span_once(store: SqlStore) -> None:
    """A batch written again (its commit was lost) and a batch mixing stored and new spans:
    each span is stored once (PostgreSQL's ``COPY`` gives way to the skipping insert), found
    once, and indexed once."""
    batch, ids = batch_of(6, "okapi")
    store.write_batch(batch)
    store.write_batch(batch)
    more, later = batch_of(3, "okapi")
    mixed = ExportBatch()
    mixed.spans = batch.spans[:9] + more.spans
    mixed.finished = batch.finished[:3] + more.finished
    store.write_batch(mixed)
    assert store.maintain()
    mine = {"ids": ids + later}
    if store.dialect == "postgresql":
        index = "SELECT count(*) FROM span_texts WHERE trace_id = ANY(:ids)"
    else:
        index = ("SELECT count(*) FROM spans_fts_docsize AS f JOIN spans AS s "
                 "ON s.seq = f.id WHERE s.trace_id IN (SELECT value FROM json_each(:ids))")
        mine = {"ids": json.dumps(ids + later)}
    with store.engine().connect() as connection:
        written = connection.execute(text(
            "SELECT count(*) FROM spans WHERE trace_id = ANY(:ids)" if store.dialect ==
            "postgresql" else "SELECT count(*) FROM spans WHERE trace_id IN "
            "(SELECT value FROM json_each(:ids))"), mine).scalar_one()
        indexed = connection.execute(text(index), mine).scalar_one()
    assert written == indexed == 3 * (6 + 3)
    assert found(store, "trace.text LIKE '%okapi-2 %'") == {ids[2], later[2]}
    for trace_id in ids + later:
        trace = store.get_trace(trace_id)
        assert trace is not None and len(trace.data.spans) == 3


def test_the_index_is_asked_about_rare_trigrams_and_results_stay_exact(store: SqlStore) -> None:
    """SQLite asks its index about the rarest trigrams of the searched text only (PostgreSQL
    ignores this): the candidates are a superset, checked with LIKE, so results are exactly
    those of a plain scan, for common and rare trigrams, quotes, case and long texts."""
    batch, ids = batch_of(250, 'topic "Quoted" Long-Text-Of-Many-Trigrams')
    store.write_batch(batch)
    store.maintain()
    assert found(store, "trace.text LIKE '%Many-Trigrams-123 %'") == {ids[123]}
    assert found(store, "trace.text LIKE '%many-trigrams-123 %'") == set()  # LIKE keeps case
    assert found(store, "trace.text ILIKE '%many-trigrams-123 %'") == {ids[123]}
    assert found(store, "trace.text LIKE '%\"Quoted\" Long%Trigrams-24%'") == {
        ids[24], *ids[240:250]}
    assert len(found(store, "trace.text LIKE '%topic \"Quoted\"%'")) == 250
