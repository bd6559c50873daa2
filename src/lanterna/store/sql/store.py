"""The SQL store: one implementation for SQLite and PostgreSQL.

The engine is created on first use, on whichever thread needs it first (usually the export
thread), and the schema is checked (and migrated if behind) at that moment. Writes go through
one lock per process (one writer path); on SQLite they begin with ``BEGIN IMMEDIATE``. Reading a
SQLite file that does not exist yet answers "nothing stored" without creating it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError

from lanterna.entities.span import Span
from lanterna.entities.trace import Trace
from lanterna.entities.trace_info import TraceInfo, TraceTagKey
from lanterna.exceptions import InvalidFilterError, MlflowException, StoreError
from lanterna.store import skeleton
from lanterna.store.base import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Experiment
from lanterna.store.batch import ExportBatch
from lanterna.store.search import limits, paging
from lanterna.store.search.rlike import RLIKE_SECONDS, TIMED_OUT
from lanterna.store.sql import engine as engines
from lanterna.store.sql import (
    fulltext,
    ingest,
    reads,
    rows,
    schema,
    searching,
    sessions,
    span_search,
    writes,
)
from lanterna.store.sql.storable import storable_rows, storable_text
from lanterna.store.sql.tables import experiments, spans, trace_tags, traces

_CHUNK = 500
#: PostgreSQL: vacuum and refresh planner statistics after this many spans written here.
ANALYZE_AFTER_SPANS = 10_000
_EXPERIMENT_NAME_CHARS = 256


class SqlStore:
    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.url = engines.sqlalchemy_url(uri)
        self.dialect = "postgresql" if self.url.get_backend_name() == "postgresql" else "sqlite"
        self.memory = engines.is_memory(self.url)
        self.where = self.url.render_as_string(hide_password=True)
        self._engine: Engine | None = None
        self._written_since_analyze = 0
        self._indexed_all = False  # PostgreSQL: no span of this process waits to be indexed
        self._reset_locks()

    def _reset_locks(self) -> None:
        self._setup_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # A memory store is one shared connection: every use takes turns.
        self._serial: Any = threading.RLock() if self.memory else nullcontext()

    def __repr__(self) -> str:
        return f"SqlStore({self.where!r})"

    # -- engine and schema --------------------------------------------------------------------
    def engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            with self._setup_lock:
                if self._engine is None:
                    created = engines.create(self.url)
                    try:
                        with self._serial:
                            schema.ensure(created, self.where)
                    except BaseException:
                        created.dispose()
                        raise
                    self._engine = created
                engine = self._engine
        return engine

    @property
    def connected(self) -> bool:
        return self._engine is not None

    def _missing_file(self) -> bool:
        """True for a SQLite file that does not exist (and so holds no traces)."""
        if self._engine is not None or self.dialect != "sqlite" or self.memory:
            return False
        database = self.url.database or ""
        return not database.startswith("file:") and not os.path.exists(database)

    def upgrade(self) -> str:
        engine = engines.create(self.url) if self._engine is None else self._engine
        try:
            with self._serial:
                return schema.upgrade(engine, self.where)
        except SQLAlchemyError as exc:
            raise self._error("migrate", exc) from exc
        finally:
            if engine is not self._engine:
                engine.dispose()

    def dispose(self) -> None:
        if self._engine is not None and not self.memory:
            self._engine.dispose()
            self._engine = None

    @property
    def _trace_tables(self) -> tuple[Any, ...]:
        """The tables holding a trace's rows (what deleting a trace deletes from)."""
        if self.dialect == "postgresql":
            return (spans, trace_tags, traces, fulltext.SPAN_TEXTS, fulltext.PENDING)
        return (spans, trace_tags, traces)

    def after_fork(self) -> None:
        """In a forked child: forget the parent's connections without closing them."""
        self._reset_locks()
        if self._engine is not None and not self.memory:
            self._engine.dispose(close=False)

    @contextmanager
    def _reading(self) -> Iterator[Connection]:
        try:
            with self._serial, self.engine().connect() as connection, connection.begin():
                yield connection
        except DBAPIError as exc:
            if "user-defined function raised exception" in str(exc.orig):
                raise InvalidFilterError(
                    f"Invalid filter: {TIMED_OUT} (over {RLIKE_SECONDS:g} s on one value); "
                    "simplify it, or use LIKE."
                ) from exc
            if "regular expression" in str(exc.orig):
                raise InvalidFilterError(f"Invalid filter: RLIKE pattern ({exc.orig})") from exc
            raise self._error("read from", exc) from exc
        except SQLAlchemyError as exc:
            raise self._error("read from", exc) from exc

    @contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._write_lock, self._serial:
            connection = self.engine().connect().execution_options(
                **{engines.WRITE_OPTION: True}
            )
            with connection, connection.begin():
                yield connection

    @contextmanager
    def _user_writing(self) -> Iterator[Connection]:
        """A write asked for by user code: failures become a ``StoreError``."""
        try:
            with self._writing() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise self._error("write to", exc) from exc

    def _error(self, action: str, exc: SQLAlchemyError) -> StoreError:
        reason = getattr(exc, "orig", None) or exc
        return StoreError(f"lanterna could not {action} the store at {self.where}: {reason}")

    # -- export -------------------------------------------------------------------------------
    def write_batch(self, batch: ExportBatch) -> None:
        """Raises SQLAlchemy's errors as they are: the exporter tells outages from bad rows."""
        with self._writing() as connection:
            writes.write_batch(connection, batch)
        self._written_since_analyze += len(batch.spans)
        self._indexed_all = False

    def maintain(
        self, busy: Callable[[], bool] | None = None, budget: float | None = None
    ) -> bool:
        """Upkeep after writes, run when the exporter is idle and at exit: the full-text index
        catches up (``fulltext``); PostgreSQL's planner statistics are refreshed after many
        writes (a fresh table without them gets poor plans). True when nothing is left to do."""
        if self._engine is None:
            return True
        done = self.index_pending(busy, budget)
        if self.dialect == "postgresql":
            written = self._written_since_analyze
            if done and written >= ANALYZE_AFTER_SPANS:  # VACUUM: index-only scans too
                engine = self.engine().execution_options(isolation_level="AUTOCOMMIT")
                with self._write_lock, engine.connect() as connection:
                    connection.exec_driver_sql(
                        "VACUUM (ANALYZE) traces, spans, trace_tags, span_texts, span_texts_pending"
                    )
                self._written_since_analyze -= written
        return done

    def index_pending(
        self, busy: Callable[[], bool] | None = None, budget: float | None = None
    ) -> bool:
        """Bring the full-text index up to date, one short transaction at a time, until
        done (True), ``busy()`` says stop, or ``budget`` seconds pass (False)."""
        postgres = self.dialect == "postgresql"
        if self._engine is None or (postgres and self._indexed_all):
            return True
        step = fulltext.index_step_postgres if postgres else fulltext.index_step
        deadline = None if budget is None else time.monotonic() + budget
        while True:
            if (busy is not None and busy()) or (
                deadline is not None and time.monotonic() > deadline
            ):
                return False
            with self._writing() as connection:
                more = step(connection)
            if not more:
                self._indexed_all = True
                return True

    # -- ingest (spans and infos from elsewhere, in pieces; see ingest.py) ---------------------
    def log_spans(self, experiment_id: str, spans: Sequence[Span]) -> None:
        """Store spans idempotently by (trace id, span id); a trace's info follows from its
        root whenever the root arrives."""
        if not spans:
            return
        with self._writing() as connection:
            ingest.log_spans(connection, str(experiment_id), spans)
        self._written_since_analyze += len(spans)
        self._indexed_all = False

    def log_trace_info(self, info: TraceInfo) -> TraceInfo:
        """Upsert a trace's info (a client's info wins over one derived from spans)."""
        with self._writing() as connection:
            return ingest.log_trace_info(connection, info)

    def log_trace_infos(
        self, infos: Sequence[TraceInfo], *, if_absent: bool = False
    ) -> list[TraceInfo]:
        """``log_trace_info`` for many infos in one transaction (what a server answering many
        clients needs). With ``if_absent`` an info only fills in a trace not stored yet; the
        stored info is returned for the others."""
        if not infos:
            return []
        with self._writing() as connection:
            if not if_absent:
                return ingest.log_trace_infos(connection, infos)
            found = ingest.trace_infos(connection, [info.trace_id for info in infos])
            present = {info.trace_id: info for info in found}
            added = iter(ingest.log_trace_infos(
                connection, [i for i in infos if i.trace_id not in present]))
            return [present.get(info.trace_id) or next(added) for info in infos]

    def traces_with_spans(self, trace_ids: Sequence[str]) -> set[str]:
        if self._missing_file() or not trace_ids:
            return set()
        with self._reading() as connection:
            return ingest.traces_with_spans(connection, trace_ids)

    def get_trace_infos(self, trace_ids: Sequence[str]) -> list[TraceInfo]:
        """The infos (no spans) of the stored traces among ``trace_ids``, in that order."""
        if self._missing_file() or not trace_ids:
            return []
        with self._reading() as connection:
            return ingest.trace_infos(connection, trace_ids)

    # -- reads --------------------------------------------------------------------------------
    def get_trace(self, trace_id: str) -> Trace | None:
        if self._missing_file() or not limits.plausible_id(trace_id):
            return None
        with self._reading() as connection:
            row = connection.execute(select(traces).where(traces.c.trace_id == trace_id)).first()
            if row is None:
                return None
            return reads.load_traces(connection, [row], include_spans=True)[0]

    def get_trace_skeleton(self, trace_id: str) -> dict[str, Any] | None:
        if self._missing_file():
            return None
        with self._reading() as connection:
            row = connection.execute(select(traces).where(traces.c.trace_id == trace_id)).first()
            if row is None:
                return None
            info = reads.load_traces(connection, [row], include_spans=False)[0].info
            found = reads.skeleton_rows(connection, trace_id)
        return skeleton.build(info, found)

    def get_spans(self, trace_id: str, span_ids: Sequence[str]) -> list[Span]:
        wanted = sorted({str(s) for s in span_ids})
        if not wanted or self._missing_file():
            return []
        with self._reading() as connection:
            return reads.load_spans(connection, trace_id, wanted)

    def search_traces(
        self,
        experiment_ids: Sequence[str] | None = None,
        filter_string: str | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        order_by: Sequence[str] | None = None,
        page_token: str | None = None,
        include_spans: bool = True,
    ) -> tuple[list[Trace], str | None]:
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise MlflowException(
                f"max_results must be a positive integer, got {max_results!r}."
            )
        limit = min(max_results, MAX_PAGE_SIZE)
        search = searching.prepare(  # checks the arguments, whether or not anything is stored
            self.dialect, experiment_ids, filter_string, order_by, page_token
        )
        if self._missing_file():
            return [], None
        with self._reading() as connection:
            found = list(connection.execute(searching.statement(search, limit + 1, connection)))
            more = len(found) > limit
            found = found[:limit]
            result = reads.load_traces(connection, found, include_spans)
        token = None
        if more:
            last = found[-1]
            token = paging.encode_token(
                [last._mapping[f"sort_{i}"] for i in range(len(search.keys))], search.query
            )
        return result, token

    def search_statement(
        self,
        experiment_ids: Sequence[str] | None,
        filter_string: str | None,
        order_by: Sequence[str] | None,
        page_token: str | None,
        limit: int,
        connection: Connection | None = None,
    ) -> Any:
        """The SELECT ``search_traces`` runs for one page; bound, not run (see ``searching``)."""
        search = searching.prepare(
            self.dialect, experiment_ids, filter_string, order_by, page_token
        )
        return searching.statement(search, limit, connection)

    def count_traces(self, experiment_ids: Sequence[str] | None = None) -> int:
        if self._missing_file():
            return 0
        statement = select(func.count()).select_from(traces)
        if experiment_ids:
            statement = statement.where(traces.c.experiment_id.in_(list(experiment_ids)))
        with self._reading() as connection:
            return int(connection.execute(statement).scalar_one())

    # -- deletes and tags ---------------------------------------------------------------------
    def delete_traces(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> int:
        return len(self.delete_trace_ids(experiment_id, max_timestamp_millis, max_traces,
                                         trace_ids))

    def delete_trace_ids(
        self,
        experiment_id: str,
        max_timestamp_millis: int | None = None,
        max_traces: int | None = None,
        trace_ids: Sequence[str] | None = None,
    ) -> list[str]:
        """Deletes and returns the ids deleted (oldest first when selecting by time)."""
        _check_delete_arguments(max_timestamp_millis, max_traces, trace_ids)
        if self._missing_file() or not limits.plausible_id(str(experiment_id)):
            return []  # no experiment has such an id
        if trace_ids is not None:
            trace_ids = [t for t in trace_ids if limits.plausible_id(t)]
        statement = select(traces.c.trace_id).where(traces.c.experiment_id == str(experiment_id))
        if trace_ids is not None:
            statement = statement.where(traces.c.trace_id.in_([str(t) for t in trace_ids]))
        else:
            statement = statement.where(traces.c.timestamp_ms <= max_timestamp_millis)
            statement = statement.order_by(traces.c.timestamp_ms, traces.c.trace_id)
            if max_traces is not None:
                statement = statement.limit(max_traces)
        with self._user_writing() as connection:
            ids = list(connection.execute(statement).scalars())
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                for table in self._trace_tables:
                    connection.execute(delete(table).where(table.c.trace_id.in_(chunk)))
        return ids

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> bool:
        return self._change_tag(trace_id, key, value)

    def delete_trace_tag(self, trace_id: str, key: str) -> bool:
        return self._change_tag(trace_id, key, None)

    def _change_tag(self, trace_id: str, key: str, value: str | None) -> bool:
        if len(key) > 250:
            raise MlflowException(f"Tag keys are at most 250 characters; {key[:40]!r}… is longer.")
        if self._missing_file() or not limits.plausible_id(trace_id):
            return False
        postgres = self.dialect == "postgresql"
        key = storable_text(key, postgres)
        with self._user_writing() as connection:
            exists = connection.execute(
                select(traces.c.trace_id).where(traces.c.trace_id == trace_id)
            ).first()
            if exists is None:
                return False
            connection.execute(
                delete(trace_tags).where(trace_tags.c.trace_id == trace_id, trace_tags.c.key == key)
            )
            if value is not None:
                _, stored_key, stored_value = storable_rows(
                    rows.key_value_rows(trace_id, {key: value}, postgres), postgres
                )[0]
                connection.execute(
                    trace_tags.insert().values(trace_id=trace_id, key=stored_key,
                                               value=stored_value)
                )
            if key == TraceTagKey.TRACE_NAME:
                connection.execute(
                    update(traces).where(traces.c.trace_id == trace_id).values(name=value)
                )
        return True

    # -- experiments --------------------------------------------------------------------------
    def get_experiment(self, experiment_id: str) -> Experiment | None:
        return self._find_experiment(experiments.c.experiment_id == str(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._find_experiment(experiments.c.name == name)

    def find_spans(self, trace_id: str, text: str, limit: int = span_search.MAX_FOUND) -> list[str]:
        """Ids of the spans of a trace whose text contains ``text`` (any case), in start order."""
        if self._missing_file() or not text:
            return []
        with self._reading() as connection:
            return span_search.find_spans(connection, self.dialect, trace_id, text, limit)

    def list_sessions(
        self,
        experiment_ids: Sequence[str] | None = None,
        max_results: int = DEFAULT_PAGE_SIZE,
        page_token: str | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Sessions (traces sharing a session id), most recently active first, and the token of
        the next page (see :mod:`lanterna.store.sql.sessions`)."""
        if self._missing_file():
            return [], None
        with self._reading() as connection:
            return sessions.list_sessions(connection, experiment_ids, max_results, page_token)

    def list_experiments(self) -> list[tuple[Experiment, int]]:
        if self._missing_file():
            return []
        with self._reading() as connection:
            known = {
                row.experiment_id: Experiment(row.experiment_id, row.name, row.creation_time)
                for row in connection.execute(select(experiments))
            }
            counts: dict[str, int] = {
                experiment_id: int(count) for experiment_id, count in connection.execute(
                    select(traces.c.experiment_id, func.count()).group_by(traces.c.experiment_id)
                )
            }
        for experiment_id in counts.keys() - known.keys():  # ingested under an unknown id
            known[experiment_id] = Experiment(experiment_id, "", 0)
        return [
            (experiment, counts.get(experiment_id, 0))
            for experiment_id, experiment in sorted(known.items(), key=_experiment_order)
        ]

    def _find_experiment(self, condition: Any) -> Experiment | None:
        with self._reading() as connection:
            row = connection.execute(select(experiments).where(condition)).first()
        return None if row is None else Experiment(row.experiment_id, row.name, row.creation_time)

    def get_or_create_experiment(self, name: str) -> Experiment:
        if not isinstance(name, str) or not name.strip():
            raise MlflowException("An experiment name must be a non-empty string.")
        if len(name) > _EXPERIMENT_NAME_CHARS:
            raise MlflowException(
                f"Experiment names are at most {_EXPERIMENT_NAME_CHARS} characters."
            )
        for _attempt in range(3):
            found = self.get_experiment_by_name(name)
            if found is not None:
                return found
            try:
                return self._create_experiment(name)
            except IntegrityError:  # another process created it (or took the id) first
                continue
            except SQLAlchemyError as exc:
                raise self._error("write to", exc) from exc
        raise StoreError(f"lanterna could not create the experiment {name!r} in {self.where}.")

    def _create_experiment(self, name: str) -> Experiment:
        with self._writing() as connection:
            ids = connection.execute(select(experiments.c.experiment_id)).scalars()
            numbers = [int(i) for i in ids if i.isdigit()]
            experiment = Experiment(str(max(numbers, default=0) + 1), name,
                                    int(time.time() * 1000))
            connection.execute(
                experiments.insert().values(
                    experiment_id=experiment.experiment_id, name=name,
                    creation_time=experiment.creation_time,
                )
            )
        return experiment


def _experiment_order(item: tuple[str, Experiment]) -> tuple[int, int, str]:
    """Numeric ids in numeric order ("0" first), then the others by text."""
    experiment_id = item[0]
    if experiment_id.isdigit():
        return (0, int(experiment_id), "")
    return (1, 0, experiment_id)


def _check_delete_arguments(
    max_timestamp_millis: int | None, max_traces: int | None, trace_ids: Sequence[str] | None
) -> None:
    if trace_ids is not None and (max_timestamp_millis is not None or max_traces is not None):
        raise MlflowException(
            "delete_traces takes either trace_ids or max_timestamp_millis (with max_traces), "
            "not both."
        )
    if trace_ids is None and max_timestamp_millis is None:
        raise MlflowException(
            "delete_traces needs trace_ids=[...] or max_timestamp_millis=<ms since epoch>."
        )
    if max_traces is not None and (
        isinstance(max_traces, bool) or not isinstance(max_traces, int)
        or not 1 <= max_traces < 2**63
    ):
        raise MlflowException(f"max_traces must be a positive integer, got {max_traces!r}.")
    if max_timestamp_millis is not None and (
        isinstance(max_timestamp_millis, bool) or not isinstance(max_timestamp_millis, int)
        or not 0 <= max_timestamp_millis < 2**63
    ):
        raise MlflowException(
            "max_timestamp_millis must be an int of milliseconds since the epoch (such as "
            f"int(time.time() * 1000)), got {max_timestamp_millis!r}; nothing was deleted."
        )
    if trace_ids is not None and (
        isinstance(trace_ids, str) or not all(isinstance(t, str) for t in trace_ids)
    ):
        raise MlflowException(
            "trace_ids must be a list of trace id strings (such as ['tr-…']); nothing was "
            "deleted."
        )

