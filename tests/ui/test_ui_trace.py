"""The trace view in a browser (issue 13, acceptance 1, 2 and 5): the demo's trace with its tree,
timeline, chat view, documents, failed tool call and tokens; deep links; keyboard; dark theme;
a running trace gaining spans without reload."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import lanterna
from lanterna.entities import SpanType

from .browser import (
    Server,
    Watched,
    open_trace,
    row,
    selected_name,
    start_server,
    subprocess_env,
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """``lanterna demo`` run for real into a fresh SQLite store, and a server on that store."""
    directory = tmp_path_factory.mktemp("demo")
    uri = f"sqlite:///{directory / 'demo.db'}"
    done = subprocess.run([sys.executable, "-m", "lanterna", "demo"], cwd=directory,
                          env=subprocess_env(LANTERNA_TRACKING_URI=uri), capture_output=True,
                          text=True, timeout=120, check=True)
    lanterna.set_tracking_uri(uri)
    (trace,) = lanterna.search_traces(return_type="list", include_spans=False)
    lanterna.set_tracking_uri(None)
    assert trace.info.trace_id in done.stdout  # the demo says how to open its trace
    server = start_server(uri, directory / "server.log")
    yield server, trace.info.trace_id
    server.stop()


def canvas_has_ink(page: Any, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, """c => {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i]) return true;
        return false; }"""))


def test_demo_trace_list_tree_timeline_chat_documents_error_tokens(
    demo: tuple[Server, str], watched: Watched
) -> None:
    server, trace_id = demo
    page = watched.page
    page.goto(server.url + "/")
    first = page.locator("table.traces tbody tr").first
    first.wait_for()
    assert first.get_attribute("data-trace-id") == trace_id
    assert "answer_question" in first.inner_text()
    assert first.locator(".col-tokens").inner_text().strip() not in ("", "—")
    first.locator(".col-name a").click()
    page.wait_for_selector(".trace-view[data-ready='1']")

    names = page.locator(".rows .row:not([hidden]) .name").all_inner_texts()
    assert names[0] == "answer_question"
    assert {"retrieve", "lookup_weather", "Completions"} <= set(names)
    assert names.count("lookup_weather") == 2
    assert canvas_has_ink(page, "canvas.bars") and canvas_has_ink(page, "canvas.overview")
    assert "Tokens" in page.locator(".trace-header").inner_text()

    row(page, "Completions").click()  # the LLM call: a chat view with tokens
    chat = page.locator(".chat")
    chat.wait_for()
    roles = chat.locator(".msg .role").all_inner_texts()
    assert [r.lower() for r in roles] == ["system", "user", "assistant"]
    assert "What does lanterna do with tracing?" in chat.inner_text()
    tokens = page.locator(".detail-body .tokens").inner_text()
    assert "total" in tokens and "input" in tokens and "output" in tokens

    row(page, "retrieve").click()  # the retriever: its documents as cards
    cards = page.locator(".doc-card")
    cards.first.wait_for()
    assert cards.count() == 2
    assert "kb/" in cards.first.locator(".doc-source").inner_text()
    assert "lanterna records every LLM call" in page.locator(".documents").inner_text()

    page.locator(".rows .row.error").first.click()  # the failed tool call: its stack trace
    exception = page.locator(".exception")
    exception.wait_for()
    assert "LookupError" in exception.inner_text()
    assert "no weather station in Atlantis" in exception.inner_text()
    assert "Traceback" in page.locator(".stacktrace").inner_text()
    assert watched.dialogs == [] and watched.script_errors() == []


def test_deep_link_reopens_the_trace_and_span(demo: tuple[Server, str], watched: Watched) -> None:
    server, trace_id = demo
    page = watched.page
    open_trace(page, server, trace_id)
    row(page, "retrieve").click()
    page.wait_for_function("() => location.hash.includes('span=')")
    link = page.url
    span_id = page.locator(".row.selected").get_attribute("data-span-id")

    other = watched.page.context.new_page()
    other.goto(link)
    other.wait_for_selector(".trace-view[data-ready='1']")
    assert other.locator(".row.selected").get_attribute("data-span-id") == span_id
    assert other.locator(".detail-head .span-name").inner_text() == "retrieve"
    other.locator(".doc-card").first.wait_for()
    other.close()


def test_keyboard_navigation_and_find(demo: tuple[Server, str], watched: Watched) -> None:
    server, trace_id = demo
    page = watched.page
    open_trace(page, server, trace_id)
    assert selected_name(page) == "answer_question"
    page.keyboard.press("j")
    assert selected_name(page) == "retrieve"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("k")
    assert selected_name(page) == "lookup_weather"
    page.keyboard.press("End")
    assert selected_name(page) == "Completions"
    page.keyboard.press("ArrowLeft")  # a leaf: to its parent
    assert selected_name(page) == "answer_question"
    page.keyboard.press("ArrowLeft")  # collapse
    assert page.locator(".rows .row:not([hidden])").count() == 1
    page.keyboard.press("ArrowRight")  # expand
    assert page.locator(".rows .row:not([hidden])").count() == 5
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.classList.contains('find')")
    page.keyboard.type("complet")
    page.keyboard.press("Enter")
    assert selected_name(page) == "Completions"
    page.locator("input.find").fill("atlantis")  # in a span's inputs, not in any name
    page.locator("input.find").press("Enter")
    page.wait_for_function("() => document.querySelector('.row.selected')"
                           "?.classList.contains('error')")
    assert selected_name(page) == "lookup_weather"
    page.keyboard.press("Escape")  # leaves the find box
    assert not page.evaluate("document.activeElement.classList.contains('find')")
    page.keyboard.press("Escape")  # back to the list
    page.wait_for_selector("table.traces tbody tr")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_selector(".trace-view[data-ready='1']")


def background(page: Any) -> str:
    return str(page.evaluate("getComputedStyle(document.body).backgroundColor"))


def test_dark_theme_follows_the_system_and_is_switchable(
    demo: tuple[Server, str], watched: Watched
) -> None:
    server, trace_id = demo
    page = watched.page
    page.emulate_media(color_scheme="light")
    open_trace(page, server, trace_id)
    light = background(page)
    page.emulate_media(color_scheme="dark")
    dark = background(page)
    assert light == "rgb(255, 255, 255)" and dark != light
    page.emulate_media(color_scheme="light")
    theme = page.locator("#theme")
    theme.click()  # system -> light
    theme.click()  # light -> dark
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert background(page) == dark
    page.reload()
    page.wait_for_selector(".trace-view[data-ready='1']")
    assert background(page) == dark  # the choice is kept


def test_a_running_trace_gains_spans_without_reload(
    tmp_path: Path, server_for: Any, watched: Watched
) -> None:
    uri = f"sqlite:///{tmp_path / 'live.db'}"
    lanterna.set_tracking_uri(uri)
    experiment = lanterna.set_experiment(f"live-{uuid.uuid4().hex[:6]}").experiment_id
    try:
        root = lanterna.start_span_no_context("agent_loop", span_type=SpanType.AGENT,
                                              experiment_id=experiment)
        lanterna.start_span_no_context("step-1", parent_span=root).end()  # type: ignore[arg-type]
        lanterna.flush_trace_async_logging()
        server = server_for(uri)
        page = watched.page
        page.goto(f"{server.url}/#/traces?exp={experiment}")
        page.locator("table.traces tbody tr").first.wait_for()
        assert page.locator(".state-in_progress").count() == 1
        open_trace(page, server, str(root.trace_id), f"?exp={experiment}")
        page.locator(".live").wait_for()
        before = page.locator(".rows .row:not([hidden])").count()
        for n in (2, 3):
            lanterna.start_span_no_context(f"step-{n}", parent_span=root).end()  # type: ignore[arg-type]
        lanterna.flush_trace_async_logging()
        row(page, "step-3").wait_for()
        assert page.locator(".rows .row:not([hidden])").count() == before + 2
        root.end()
        lanterna.flush_trace_async_logging()
        page.locator(".trace-header .state-ok").wait_for()
        assert page.locator(".live").count() == 0

        # The list shows new traces as they come, without reload.
        page.goto(f"{server.url}/#/traces?exp={experiment}")
        page.locator("table.traces tbody tr").first.wait_for()
        with lanterna.start_span("newcomer"):
            pass
        lanterna.flush_trace_async_logging()
        page.locator("table.traces tbody tr", has_text="newcomer").wait_for()
    finally:
        lanterna.set_tracking_uri(None)
