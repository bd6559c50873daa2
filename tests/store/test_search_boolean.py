"""``OR``, ``NOT`` and parentheses in filters (issue 13): on a random corpus and random filters,
both engines and both query plans return exactly the traces a plain Python evaluation selects."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator

import pytest

import lanterna
from filter_corpus import Model, evaluate, expected, random_filter, render, write_corpus
from lanterna.exceptions import InvalidFilterError
from lanterna.testing.databases import store_uri  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def corpus(store_uri: str) -> Iterator[tuple[str, list[Model]]]:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    experiment = lanterna.set_experiment(f"boolean-{uuid.uuid4().hex[:8]}").experiment_id
    yield experiment, write_corpus(experiment, 40, seed=13)
    lanterna.set_tracking_uri(None)


def search(store_uri: str, experiment: str, filter_string: str) -> set[str]:  # noqa: F811
    lanterna.set_tracking_uri(store_uri)
    found = lanterna.search_traces(experiment_ids=[experiment], filter_string=filter_string,
                                   return_type="list", include_spans=False, max_results=1000)
    return {t.info.trace_id for t in found}


@pytest.mark.parametrize("plan", ["from-index", "walk"])
def test_random_boolean_filters_match_a_python_evaluation(
    corpus: tuple[str, list[Model]], store_uri: str, plan: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from lanterna.store.sql import searching

    monkeypatch.setattr(searching, "DRIVE_BELOW", 10**9 if plan == "from-index" else 0)
    if plan == "from-index":  # however little walking would cost
        monkeypatch.setattr(searching, "WALK_RATIO", 1e-9)
    experiment, models = corpus
    rng = random.Random(1300)
    sizes = set()
    for _ in range(150):
        node = random_filter(rng)
        text = render(node, rng)
        want = expected(node, models)
        sizes.add(len(want))
        assert search(store_uri, experiment, text) == want, text
    assert len(sizes) > 10  # the filters select many different subsets, not just all or none


def test_not_is_the_complement(corpus: tuple[str, list[Model]], store_uri: str) -> None:  # noqa: F811
    experiment, models = corpus
    everything = {m.trace_id for m in models}
    for text in ("tag.env = 'prod'", "span.type = 'TOOL' AND trace.status = 'OK'",
                 "tag.team != 'ads'", "metadata.user IN ('u1', 'u2')"):
        inside = search(store_uri, experiment, text)
        outside = search(store_uri, experiment, f"NOT ({text})")
        assert inside | outside == everything and not inside & outside, text


def test_precedence_not_then_and_then_or(corpus: tuple[str, list[Model]], store_uri: str) -> None:  # noqa: F811
    experiment, models = corpus
    a, b, c = "tag.env = 'prod'", "trace.status = 'ERROR'", "span.name = 'llm'"
    assert search(store_uri, experiment, f"{a} OR {b} AND {c}") == search(
        store_uri, experiment, f"{a} OR ({b} AND {c})")
    assert search(store_uri, experiment, f"NOT {a} AND {b}") == search(
        store_uri, experiment, f"(NOT {a}) AND {b}")
    node = ("or", [("cmp", a, lambda m: m.tags.get("env") == "prod"),
                   ("and", [("cmp", b, lambda m: m.state == "ERROR"),
                            ("cmp", c, lambda m: any(s[0] == "llm" for s in m.spans))])])
    assert search(store_uri, experiment, f"{a} or {b} and {c}") == {
        m.trace_id for m in models if evaluate(node, m)}


def test_paging_through_an_or_filter(corpus: tuple[str, list[Model]], store_uri: str) -> None:  # noqa: F811
    experiment, models = corpus
    text = "tag.env = 'prod' OR NOT span.type = 'TOOL'"
    seen: list[str] = []
    token = None
    while True:
        page = lanterna.search_traces(experiment_ids=[experiment], filter_string=text,
                                      max_results=4, page_token=token, return_type="list",
                                      include_spans=False)
        seen.extend(t.info.trace_id for t in page)
        token = page.token
        if not token:
            break
    assert len(seen) == len(set(seen)) == len(search(store_uri, experiment, text))


@pytest.mark.parametrize(("source", "token", "position"), [
    ("(tag.a = 'x' OR tag.b = 'y'", "", 27),
    ("tag.a = 'x' OR", "", 14),
    ("NOT", "", 3),
    ("tag.a = 'x' OR OR tag.b = 'y'", "OR", 15),
    ("tag.a = 'x')", ")", 11),
    ("(" * 40 + "tag.a = 'x'" + ")" * 40, "(", 32),
])
def test_bad_boolean_filters_point_at_their_token(source: str, token: str, position: int) -> None:
    with pytest.raises(InvalidFilterError) as info:
        lanterna.search_traces(filter_string=source)
    assert (info.value.token, info.value.position) == (token, position)
