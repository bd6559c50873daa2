"""Every entity, key and operator of the filter language, on SQLite and on PostgreSQL (issue 4,
acceptance 6 and 7): the same traces, the same filters, the same answers."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lanterna
from lanterna.entities import SpanType
from lanterna.exceptions import InvalidFilterError
from lanterna.testing.databases import store_uri  # noqa: F401  (fixture)

T0 = 1_700_000_000_000  # ms


@dataclass
class Dataset:
    experiment_id: str
    ids: dict[str, str]


def _trace(
    experiment_id: str,
    name: str,
    start_ms: int,
    duration_ms: int,
    children: tuple[dict[str, Any], ...] = (),
    status: str = "OK",
    **root: Any,
) -> str:
    span = lanterna.start_span_no_context(
        name, span_type=root.pop("span_type", SpanType.CHAIN), inputs=root.pop("inputs", None),
        start_time_ns=start_ms * 1_000_000, experiment_id=experiment_id, **root,
    )
    for offset, child in enumerate(children, start=1):
        kid = lanterna.start_span_no_context(
            child["name"], span_type=child["type"], parent_span=span,  # type: ignore[arg-type]
            inputs=child.get("inputs"), attributes=child.get("attributes"),
            start_time_ns=(start_ms + offset) * 1_000_000,
        )
        kid.end(outputs=child.get("outputs"), status=child.get("status", "OK"),
                end_time_ns=(start_ms + offset + 1) * 1_000_000)
    outputs = root.get("outputs")
    span.end(outputs=outputs, status=status, end_time_ns=(start_ms + duration_ms) * 1_000_000)
    return str(span.trace_id)


@pytest.fixture(scope="module")
def dataset(store_uri: str) -> Iterator[Dataset]:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    experiment = lanterna.set_experiment(f"filters-{uuid.uuid4().hex[:8]}").experiment_id
    ids = {
        "alpha": _trace(
            experiment, "alpha", T0 + 1000, 100, inputs={"question": "What is lanterna?"},
            tags={"env": "prod", "team": "search"}, metadata={"note": "first"},
            children=(
                {"name": "retrieve", "type": SpanType.RETRIEVER,
                 "attributes": {"top_k": 3, "index": "docs-v2"},
                 "outputs": ["doc one", "doc two"]},
                {"name": "llm", "type": SpanType.CHAT_MODEL,
                 "attributes": {"temperature": 0.5, "stream": True, "model": "gpt-4o"},
                 "outputs": "Café au lait, s'il vous plaît"},
            ),
        ),
        "beta": _trace(
            experiment, "beta", T0 + 2000, 250, status="ERROR", tags={"env": "dev"},
            metadata={"mlflow.sourceRun": "run-123"},
            children=({"name": "tool", "type": SpanType.TOOL, "status": "ERROR",
                       "inputs": {"query": 'get 50% off_sale, "quoted"'},
                       "attributes": {"retries": 2}},),
        ),
        "gamma": _trace(
            experiment, "gamma", T0 + 3000, 50, inputs={"q": "日本語のテキスト"},
            tags={"env": "prod", "odd": 'it\'s "quoted" 100%_done'}, outputs="naïve résumé",
        ),
        "Delta_x": _trace(
            experiment, "Delta_x", T0 + 4000, 1000, metadata={"note": "second"},
            children=({"name": "llm", "type": SpanType.LLM,
                       "attributes": {"model": "claude", "top_k": 10},
                       "outputs": "a needle in a haystack"},),
        ),
    }
    with lanterna.start_span("epsilon", span_type=SpanType.AGENT):
        lanterna.update_current_trace(client_request_id="req-42", tags={"env": "staging"})
    ids["epsilon"] = str(lanterna.get_last_active_trace_id())
    zeta = lanterna.start_span_no_context(
        "zeta", start_time_ns=(T0 + 5000) * 1_000_000, experiment_id=experiment
    )
    lanterna.start_span_no_context("step", parent_span=zeta).end()  # type: ignore[arg-type]
    ids["zeta"] = str(zeta.trace_id)  # never ended: stored IN_PROGRESS
    lanterna.flush_trace_async_logging()
    yield Dataset(experiment, ids)
    lanterna.set_tracking_uri(None)


@pytest.fixture
def data(dataset: Dataset, store_uri: str) -> Dataset:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    return dataset


def found(data: Dataset, filter_string: str) -> set[str]:
    traces = lanterna.search_traces(
        experiment_ids=[data.experiment_id], filter_string=filter_string.format(**data.ids),
        return_type="list", include_spans=False,
    )
    by_id = {v: k for k, v in data.ids.items()}
    return {by_id[t.info.trace_id] for t in traces}


ALL = {"alpha", "beta", "gamma", "Delta_x", "epsilon", "zeta"}
ENDED = ALL - {"zeta"}

CASES: list[tuple[str, set[str]]] = [
    # trace attributes: ids
    ("trace.request_id = '{alpha}'", {"alpha"}),
    ("request_id != '{alpha}'", ALL - {"alpha"}),
    ("attributes.request_id IN ('{alpha}', '{beta}')", {"alpha", "beta"}),
    ("trace.trace_id NOT IN ('{alpha}', '{beta}')", ALL - {"alpha", "beta"}),
    ("trace.request_id LIKE 'tr-%'", ALL),
    ("trace.request_id ILIKE 'TR-%'", ALL),
    ("trace.request_id RLIKE '^tr-[0-9a-f]{{32}}$'", ALL),
    # times
    (f"trace.timestamp_ms = {T0 + 1000}", {"alpha"}),
    (f"trace.timestamp_ms != {T0 + 1000}", ALL - {"alpha"}),
    (f"trace.timestamp_ms > {T0 + 3000}", {"Delta_x", "zeta", "epsilon"}),
    (f"trace.timestamp >= {T0 + 3000}", {"gamma", "Delta_x", "zeta", "epsilon"}),
    (f"trace.timestamp_ms < {T0 + 2000}", {"alpha"}),
    (f"timestamp_ms <= '{T0 + 2000}'", {"alpha", "beta"}),
    ("trace.execution_time_ms >= 250", {"beta", "Delta_x"}),
    ("trace.execution_time > 99.5", {"alpha", "beta", "Delta_x"}),
    ("trace.execution_time_ms < 100", {"gamma", "epsilon"}),
    (f"trace.end_time_ms = {T0 + 1100}", {"alpha"}),
    (f"trace.end_time <= {T0 + 2250}", {"alpha", "beta"}),
    # state
    ("trace.status = 'ERROR'", {"beta"}),
    ("trace.state = 'ok'", {"alpha", "gamma", "Delta_x", "epsilon"}),
    ("attributes.status = 'IN_PROGRESS'", {"zeta"}),
    ("trace.status != 'OK'", {"beta", "zeta"}),
    ("trace.status IN ('ERROR', 'IN_PROGRESS')", {"beta", "zeta"}),
    ("trace.status NOT IN ('OK')", {"beta", "zeta"}),
    ("trace.status LIKE 'IN%'", {"zeta"}),
    ("trace.status ILIKE 'err%'", {"beta"}),
    ("trace.status RLIKE '^O'", {"alpha", "gamma", "Delta_x", "epsilon"}),
    # name
    ("trace.name = 'alpha'", {"alpha"}),
    ("trace.name != 'alpha'", ALL - {"alpha"}),
    ("trace.name IN ('alpha', 'gamma')", {"alpha", "gamma"}),
    ("trace.name NOT IN ('alpha', 'gamma')", ALL - {"alpha", "gamma"}),
    ("trace.name LIKE 'Delta\\_%'", {"Delta_x"}),
    ("trace.name LIKE 'Delta_x'", {"Delta_x"}),
    ("trace.name LIKE 'delta%'", set()),
    ("trace.name ILIKE 'delta%'", {"Delta_x"}),
    ("trace.name LIKE '_eta'", {"beta", "zeta"}),
    ("trace.name RLIKE 'ta$'", {"beta", "zeta"}),
    # client request id
    ("trace.client_request_id = 'req-42'", {"epsilon"}),
    ("trace.client_request_id != 'req-42'", set()),
    ("trace.client_request_id IN ('req-42', 'nope')", {"epsilon"}),
    ("trace.client_request_id NOT IN ('nope')", {"epsilon"}),
    ("trace.client_request_id LIKE 'req-%'", {"epsilon"}),
    ("trace.client_request_id ILIKE 'REQ-4_'", {"epsilon"}),
    ("trace.client_request_id RLIKE '[0-9]+$'", {"epsilon"}),
    ("trace.run_id = 'run-123'", {"beta"}),
    ("run_id LIKE 'run-%'", {"beta"}),
    # full text (trace.text, span.content): quotes, %, _, non-ASCII, case
    ("trace.text LIKE '%needle%'", {"Delta_x"}),
    ("trace.text LIKE '%haystack'", {"Delta_x"}),
    ("trace.text = 'needle in a'", {"Delta_x"}),
    ("trace.text = 'Needle'", set()),
    ("trace.text ILIKE '%NEEDLE%'", {"Delta_x"}),
    ("trace.text ILIKE '%CAFÉ AU%'", {"alpha"}),
    ("trace.text LIKE '%café%'", set()),
    ("trace.text LIKE '%Café%'", {"alpha"}),
    ("trace.text = \"s'il vous\"", {"alpha"}),
    ("trace.text = 's\\'il vous'", {"alpha"}),
    ("trace.text LIKE '%50\\% off\\_sale%'", {"beta"}),
    ("trace.text LIKE '%50_ off_sale%'", {"beta"}),
    ("trace.text = '50% off_sale'", {"beta"}),
    ("trace.text = '5% off'", set()),
    ("trace.text = '\"quoted\"'", {"beta"}),
    ("text LIKE '%日本語%'", {"gamma"}),
    ("text LIKE '%本_の%'", {"gamma"}),
    ("trace.text ILIKE '%NAÏVE RÉSUMÉ%'", {"gamma"}),
    ("trace.text LIKE '%What is%'", {"alpha"}),
    ("trace.text LIKE '%ha%stack%'", {"Delta_x"}),
    ("trace.text LIKE '%'", ALL),
    ("span.content LIKE '%doc two%'", {"alpha"}),
    ("span.content ILIKE '%DOC TWO%'", {"alpha"}),
    ("span.content = 'doc one'", {"alpha"}),
    # tags
    ("tag.env = 'prod'", {"alpha", "gamma"}),
    ("tags.env != 'prod'", {"beta", "epsilon"}),
    ("tag.env IN ('dev', 'staging')", {"beta", "epsilon"}),
    ("tag.env NOT IN ('prod')", {"beta", "epsilon"}),
    ("tag.env LIKE 'pr%'", {"alpha", "gamma"}),
    ("tag.env ILIKE 'PR%'", {"alpha", "gamma"}),
    ("tag.env RLIKE '^(dev|staging)$'", {"beta", "epsilon"}),
    ("tag.env IS NULL", {"Delta_x", "zeta"}),
    ("tag.env IS NOT NULL", {"alpha", "beta", "gamma", "epsilon"}),
    ("tag.odd = 'it\\'s \"quoted\" 100%_done'", {"gamma"}),
    ("tag.odd = 'it''s \"quoted\" 100%_done'", {"gamma"}),
    ("tag.odd LIKE '%100\\%\\_done'", {"gamma"}),
    ("tag.odd LIKE '%1000%'", set()),
    ("tag.`mlflow.traceName` = 'alpha'", {"alpha"}),
    ("tags.team = 'search' AND tag.env = 'prod'", {"alpha"}),
    # metadata
    ("metadata.note = 'first'", {"alpha"}),
    ("request_metadata.note IN ('first', 'second')", {"alpha", "Delta_x"}),
    ("metadata.note != 'first'", {"Delta_x"}),
    ("metadata.note NOT IN ('second')", {"alpha"}),
    ("metadata.note LIKE 'sec%'", {"Delta_x"}),
    ("metadata.note ILIKE 'FIRST'", {"alpha"}),
    ("metadata.note RLIKE 'st$'", {"alpha"}),
    ("metadata.note IS NULL", {"beta", "gamma", "epsilon", "zeta"}),
    ("metadata.note IS NOT NULL", {"alpha", "Delta_x"}),
    ("metadata.`mlflow.sourceRun` = 'run-123'", {"beta"}),
    # spans
    ("span.name = 'llm'", {"alpha", "Delta_x"}),
    ("span.name != 'alpha'", ALL),
    ("span.name IN ('tool', 'retrieve')", {"alpha", "beta"}),
    ("span.name NOT IN ('alpha', 'retrieve', 'llm', 'beta', 'epsilon', 'Delta_x', 'zeta')",
     {"beta", "gamma", "zeta"}),
    ("span.name LIKE 'ret%'", {"alpha"}),
    ("span.name ILIKE 'RET%'", {"alpha"}),
    ("span.name RLIKE '^t..l$'", {"beta"}),
    ("span.type = 'TOOL'", {"beta"}),
    ("span.type IN ('LLM', 'CHAT_MODEL')", {"alpha", "Delta_x"}),
    ("span.type != 'CHAIN'", {"alpha", "beta", "Delta_x", "epsilon", "zeta"}),
    ("span.type LIKE 'CHAT%'", {"alpha"}),
    ("span.status = 'ERROR'", {"beta"}),
    ("span.status = 'STATUS_CODE_ERROR'", {"beta"}),
    ("span.status IN ('error')", {"beta"}),
    ("span.status NOT IN ('OK')", {"beta"}),
    ("span.status != 'OK'", {"beta"}),
    # span attributes
    ("span.attributes.top_k = 3", {"alpha"}),
    ("span.attributes.top_k = '3'", {"alpha"}),
    ("span.attributes.top_k IN (3, 10)", {"alpha", "Delta_x"}),
    ("span.attributes.top_k != 3", {"Delta_x"}),
    ("span.attributes.top_k NOT IN (10)", {"alpha"}),
    ("span.attributes.model = 'gpt-4o'", {"alpha"}),
    ("span.attributes.model LIKE 'gpt%'", {"alpha"}),
    ("span.attributes.model ILIKE 'CLAUDE'", {"Delta_x"}),
    ("span.attributes.model RLIKE '^c'", {"Delta_x"}),
    ("span.attributes.stream = 'true'", {"alpha"}),
    ("span.attributes.temperature = 0.5", {"alpha"}),
    ("span.attributes.`mlflow.spanType` = 'TOOL'", {"beta"}),
    ("span.`attributes.model` = 'claude'", {"Delta_x"}),
    ("span.attributes.missing = 'x'", set()),
    # combinations
    ("tag.env = 'prod' AND span.name = 'llm'", {"alpha"}),
    ("trace.status = 'OK' AND trace.text LIKE '%naïve%'", {"gamma"}),
    (f"span.type = 'LLM' AND trace.timestamp_ms > {T0} AND metadata.note = 'second'",
     {"Delta_x"}),
    ("", ALL),
]


@pytest.mark.parametrize("plan", ["from-index", "walk"])
@pytest.mark.parametrize(("filter_string", "expected"), CASES, ids=[c[0] for c in CASES])
def test_filter(
    data: Dataset, filter_string: str, expected: set[str], plan: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both query plans give the same answers: starting from the traces an index lists (few
    matches), and walking traces newest first (many matches)."""
    from lanterna.store.sql import searching

    monkeypatch.setattr(searching, "DRIVE_BELOW", 10**9 if plan == "from-index" else 0)
    if plan == "from-index":  # however little walking would cost
        monkeypatch.setattr(searching, "WALK_RATIO", 1e-9)
    assert found(data, filter_string) == expected


def test_every_key_and_operator_is_covered() -> None:
    from lanterna.store.search import parse_filter
    from lanterna.store.search.ast import ATTRIBUTE_KEYS, SPAN_KEYS

    seen = set()
    for source, _ in CASES:
        for clause in parse_filter(source.replace("{", "").replace("}", "")).clauses:
            seen.add((clause.entity, clause.key if clause.entity in ("attribute", "span") else "*",
                      clause.op))
    ops = {op for _, _, op in seen}
    assert ops >= {"=", "!=", ">", ">=", "<", "<=", "IN", "NOT IN", "LIKE", "ILIKE", "RLIKE",
                   "IS NULL", "IS NOT NULL"}
    assert {k for e, k, _ in seen if e == "attribute"} == set(ATTRIBUTE_KEYS)
    assert {k for e, k, _ in seen if e == "span"} == set(SPAN_KEYS)
    for entity in ("tag", "metadata", "span_attribute"):
        assert {op for e, _, op in seen if e == entity} >= {"=", "!=", "IN", "NOT IN", "LIKE",
                                                              "ILIKE", "RLIKE"}


def test_bad_filter_names_the_offending_token(data: Dataset) -> None:
    with pytest.raises(InvalidFilterError) as info:
        lanterna.search_traces(experiment_ids=[data.experiment_id],
                               filter_string="trace.status = 'OK' AND trace.colour = 'red'")
    assert "'colour'" in str(info.value)
    assert info.value.token == "colour"
    with pytest.raises(InvalidFilterError, match="position 14"):
        lanterna.search_traces(filter_string="tag.a = 'x' OR")


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(source=st.text(max_size=40))
def test_random_filters_only_ever_raise_invalid_filter_error(data: Dataset, source: str) -> None:
    with contextlib.suppress(InvalidFilterError):
        lanterna.search_traces(experiment_ids=[data.experiment_id], filter_string=source,
                               return_type="list", include_spans=False, flush=False)
