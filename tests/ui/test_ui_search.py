"""The search box (issue 13, acceptance 2): filters typed in the browser give the same traces as
``search_traces`` and as a plain Python evaluation of the filter, OR/NOT/parentheses included,
on SQLite and PostgreSQL; a bad filter shows its error at the offending token; the filter lives
in the URL."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lanterna
from filter_corpus import Model, expected, random_filter, render, write_corpus
from lanterna.testing.databases import store_uri  # noqa: F401  (fixture)

from .browser import Server, Watched, list_ids


@pytest.fixture(scope="module")
def corpus(store_uri: str, tmp_path_factory: pytest.TempPathFactory,  # noqa: F811
           ) -> Iterator[tuple[Server, str, list[Model]]]:
    from .browser import start_server

    lanterna.set_tracking_uri(store_uri)
    experiment = lanterna.set_experiment(f"ui-search-{uuid.uuid4().hex[:8]}").experiment_id
    models = write_corpus(experiment, 40, seed=1313)
    lanterna.set_tracking_uri(None)
    server = start_server(store_uri, tmp_path_factory.mktemp("server") / "server.log")
    yield server, experiment, models
    server.stop()


def search_in_browser(page: Any, text: str) -> list[str]:
    box = page.locator("input.filter-input")
    box.fill(text)
    box.press("Enter")
    page.wait_for_function(
        "f => { const v = document.querySelector('.list-view');"
        " return v && v.dataset.filter === f; }", arg=text.strip())
    return list_ids(page)


def test_search_box_gives_the_same_traces_as_search_traces(
    corpus: tuple[Server, str, list[Model]], store_uri: str, watched: Watched,  # noqa: F811
) -> None:
    server, experiment, models = corpus
    page = watched.page
    page.goto(f"{server.url}/#/traces?exp={experiment}")
    page.locator("table.traces tbody tr").first.wait_for()
    rng = random.Random(77)
    filters = [("tag.env = 'prod' OR (trace.status = 'ERROR' AND NOT span.type = 'TOOL')", None)]
    filters += [(render(node, rng), node) for node in (random_filter(rng) for _ in range(14))]
    lanterna.set_tracking_uri(store_uri)
    try:
        for text, node in filters:
            shown = search_in_browser(page, text)
            assert len(shown) == len(set(shown))
            sdk = lanterna.search_traces(experiment_ids=[experiment], filter_string=text,
                                         max_results=1000, return_type="list",
                                         include_spans=False)
            assert set(shown) == {t.info.trace_id for t in sdk}, text
            # The list's default order is the SDK's: newest first.
            assert shown == [t.info.trace_id for t in sdk], text
            if node is not None:
                assert set(shown) == expected(node, models), text
    finally:
        lanterna.set_tracking_uri(None)
    assert watched.script_errors() == []


def test_bad_filter_shows_the_error_at_its_token(
    corpus: tuple[Server, str, list[Model]], watched: Watched
) -> None:
    server, experiment, _ = corpus
    page = watched.page
    page.goto(f"{server.url}/#/traces?exp={experiment}")
    page.locator("table.traces tbody tr").first.wait_for()
    bad = "tag.env = 'prod' OR (trace.colour = 'red')"
    box = page.locator("input.filter-input")
    box.fill(bad)
    box.press("Enter")
    token = page.locator(".filter-error .bad-token")
    token.wait_for()
    assert token.inner_text() == "colour"
    echo = page.locator(".filter-echo").inner_text()
    assert echo.index("colour") == bad.index("colour")
    assert "position 27" in page.locator(".filter-message").inner_text()
    selection = page.evaluate(
        "() => { const i = document.querySelector('input.filter-input');"
        " return [i.selectionStart, i.selectionEnd]; }")
    assert selection == [27, 33]
    assert page.locator("table.traces tbody tr").count() == 0
    assert watched.dialogs == []


def test_the_filter_and_order_live_in_the_url(
    corpus: tuple[Server, str, list[Model]], watched: Watched
) -> None:
    server, experiment, models = corpus
    page = watched.page
    page.goto(f"{server.url}/#/traces?exp={experiment}")
    text = "NOT tag.env = 'prod'"
    search_in_browser(page, text)
    page.locator("th.col-duration").click()  # sort by duration, longest first
    page.wait_for_function("() => location.hash.includes('order=')")
    page.wait_for_function("() => document.querySelector('.list-view').dataset.order"
                           " === 'execution_time_ms DESC'")
    link = page.url
    other = page.context.new_page()
    other.goto(link)
    other.wait_for_function("() => document.querySelector('.list-view')?.dataset.state === 'ok'")
    assert other.locator("input.filter-input").input_value() == text
    shown = list_ids(other)
    wanted = {m.trace_id: m for m in models if m.tags.get("env") != "prod"}
    assert set(shown) == set(wanted)
    durations = [wanted[i].execution_time_ms for i in shown]
    assert durations == sorted(durations, reverse=True)
    other.close()


def test_keyset_paging_loads_every_trace_once(
    corpus: tuple[Server, str, list[Model]], watched: Watched, tmp_path: Path
) -> None:
    server, experiment, models = corpus
    page = watched.page
    page.goto(f"{server.url}/#/traces?exp={experiment}")
    page.wait_for_function("() => document.querySelector('.list-view')?.dataset.state === 'ok'")
    assert len(list_ids(page)) == len(models)  # fewer than a page: no "Load more"
    assert page.locator("button.more").is_hidden()
