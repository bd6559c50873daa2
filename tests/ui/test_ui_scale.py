"""A trace of 100,000 spans in the browser (issue 13, acceptance 3): it opens, scrolls to its
last span, expands, collapses and searches, and the span found is selected and in view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lanterna.testing.bigtrace import write_big_trace

from .browser import Watched, open_trace, selected_name

SPANS = 100_000


def in_view(page: Any, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, """el => {
        const r = el.getBoundingClientRect(), v = document.querySelector('.viewport')
            .getBoundingClientRect();
        return r.top >= v.top - 1 && r.bottom <= v.bottom + 1; }"""))


def test_a_100k_span_trace_opens_scrolls_expands_collapses_and_searches(
    tmp_path: Path, server_for: Any, watched: Watched
) -> None:
    uri = f"sqlite:///{tmp_path / 'big.db'}"
    trace_id = write_big_trace(uri, SPANS)  # straight through the store
    server = server_for(uri)
    page = watched.page
    open_trace(page, server, trace_id)
    assert "100,000" in page.locator(".trace-header").inner_text()
    assert selected_name(page) == "big-agent"
    # Nothing capped: the scroll height holds every span's row.
    rows = page.evaluate("document.querySelector('.viewport').scrollHeight / 24")
    assert rows >= SPANS - 1

    page.keyboard.press("End")  # the last span in tree order
    assert selected_name(page) == "step-11110"
    assert in_view(page, ".row.selected")

    page.get_by_role("button", name="Collapse", exact=True).click()
    assert page.locator(".rows .row:not([hidden])").count() == 1
    page.keyboard.press("ArrowRight")
    assert page.locator(".rows .row:not([hidden])").count() == 11
    page.get_by_role("button", name="Expand", exact=True).click()
    assert page.evaluate("document.querySelector('.viewport').scrollHeight / 24") >= SPANS - 1
    page.get_by_role("button", name="Collapse", exact=True).click()

    find = page.locator("input.find")
    find.fill("step-99999")  # deep in a collapsed subtree
    find.press("Enter")
    page.wait_for_function("() => document.querySelector('.row.selected .name')?.textContent"
                           " === 'step-99999'")
    assert in_view(page, ".row.selected")
    assert page.locator(".detail-head .span-name").inner_text() == "step-99999"
    assert "1 / 1" in page.locator(".find-count").inner_text()

    page.locator("select.status-filter").select_option("ERROR")  # failed spans and parents
    notice = page.locator(".notice").inner_text()
    assert f"{(SPANS - 1) // 997:,} of {SPANS:,} spans" in notice
    assert watched.script_errors() == [] and watched.dialogs == []
