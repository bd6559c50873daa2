"""Hostile strings in every place a trace can carry one (issue 13, acceptance 4): span names,
attribute keys and values, tags, metadata, chat messages, tool calls, documents, exception
messages and stack traces. The page renders them as text: no dialog opens, no script runs, no
element they describe appears."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import lanterna
from lanterna.entities import Document, SpanEvent, SpanType

from .browser import Watched, open_trace

PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    "<img src=x onerror=\"window.__xss=1;alert(2)\">",
    "<svg onload=\"window.__xss=1;alert(3)\"><circle r=5></circle></svg>",
    "javascript:window.__xss=1;alert(4)",
    "<a href=\"javascript:alert(5)\">click</a>",
    "\"><iframe src=\"javascript:alert(6)\"></iframe>",
    "<style>body{display:none}</style><b onmouseover=alert(7)>bold</b>",
    "{{constructor.constructor('alert(8)')()}}",
    "</textarea><details open ontoggle=alert(9)>",
]
EVIL = " ".join(PAYLOADS)


def write_hostile_trace() -> str:
    class Boom(RuntimeError):
        pass

    with lanterna.start_span(PAYLOADS[0], span_type=SpanType.AGENT) as root:
        root.set_inputs({PAYLOADS[1]: EVIL, "nested": {PAYLOADS[2]: [EVIL]}})
        root.set_attributes({p: p for p in PAYLOADS})
        lanterna.update_current_trace(tags={"t" + str(i): p for i, p in enumerate(PAYLOADS)} |
                                      {PAYLOADS[3]: PAYLOADS[4]},
                                      session_id=PAYLOADS[5], user=PAYLOADS[6])
        with lanterna.start_span(PAYLOADS[1], span_type=SpanType.CHAT_MODEL) as llm:
            llm.set_inputs({"messages": [
                {"role": "system", "content": PAYLOADS[2]},
                {"role": PAYLOADS[1], "content": EVIL},
                {"role": "user", "content": [{"type": "text", "text": PAYLOADS[4]},
                                             {"type": "image_url",
                                              "image_url": {"url": PAYLOADS[3]}}]},
                {"role": "tool", "tool_call_id": PAYLOADS[5], "content": PAYLOADS[6]},
            ]})
            llm.set_outputs({"choices": [{"message": {
                "role": "assistant", "content": EVIL,
                "tool_calls": [{"id": PAYLOADS[7], "type": "function", "function": {
                    "name": PAYLOADS[8], "arguments": '{"q": "' + PAYLOADS[0] + '"}'}}]}}]})
            llm.set_attribute("mlflow.chat.tokenUsage",
                              {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3})
        with lanterna.start_span("retrieve " + PAYLOADS[2], span_type=SpanType.RETRIEVER) as r:
            r.set_outputs([Document(page_content=p, metadata={"doc_uri": PAYLOADS[3], p: p,
                                                              "score": PAYLOADS[4]}, id=p)
                           for p in PAYLOADS])
        try:
            with lanterna.start_span(PAYLOADS[4], span_type=SpanType.TOOL) as tool:
                tool.add_event(SpanEvent(PAYLOADS[5], attributes={p: p for p in PAYLOADS}))
                raise Boom(EVIL)
        except Boom:
            pass
    lanterna.flush_trace_async_logging()
    return str(lanterna.get_last_active_trace_id())


def assert_inert(page: Any, watched: Watched) -> None:
    assert page.evaluate("window.__xss") is None
    assert watched.dialogs == []
    assert watched.script_errors() == []
    for tag in ("script", "img", "svg", "iframe", "style", "details", "circle"):
        found = page.evaluate(f"document.querySelectorAll('#view {tag}').length")
        assert found == 0, tag
    assert page.evaluate("[...document.querySelectorAll('#view [onerror], #view [onload],"
                         " #view [onmouseover], #view [ontoggle]')].length") == 0
    hrefs = page.eval_on_selector_all("#view a", "as => as.map(a => a.getAttribute('href'))")
    assert all(h and h.startswith("#/") for h in hrefs), hrefs


def test_hostile_strings_are_rendered_as_text(
    tmp_path: Path, server_for: Any, watched: Watched
) -> None:
    uri = f"sqlite:///{tmp_path / 'xss.db'}"
    lanterna.set_tracking_uri(uri)
    experiment = lanterna.set_experiment(f"xss-{uuid.uuid4().hex[:6]}").experiment_id
    try:
        trace_id = write_hostile_trace()
    finally:
        lanterna.set_tracking_uri(None)
    server = server_for(uri)
    page = watched.page
    page.goto(f"{server.url}/#/traces?exp={experiment}")
    page.locator("table.traces tbody tr").first.wait_for()
    assert PAYLOADS[0] in page.locator("table.traces").inner_text()  # shown, as text
    assert_inert(page, watched)

    open_trace(page, server, trace_id, f"?exp={experiment}")
    assert page.locator(".trace-title").inner_text() == PAYLOADS[0]
    for index in range(page.locator(".rows .row:not([hidden])").count()):
        page.locator(".rows .row:not([hidden])").nth(index).click()
        page.wait_for_selector(".detail-body .panel-section")
        closed = page.locator(".panel-section.closed .section-title")
        while closed.count():
            closed.first.click()  # open every section: inputs, outputs, attributes
        shut = page.locator(".j-node:not(.open) > .j-toggle")
        for _ in range(30):
            if not shut.count():
                break
            shut.first.click()
        page.evaluate("document.querySelectorAll('.detail-body button.more')"
                      ".forEach(b => b.click())")
        assert_inert(page, watched)
    text = page.locator("#view").inner_text()
    assert "Boom" in text or PAYLOADS[4] in text

    # The sessions view shows the hostile session id and user as text too.
    page.goto(f"{server.url}/#/sessions?exp={experiment}")
    page.locator("table.sessions tbody tr").first.wait_for()
    assert PAYLOADS[5] in page.locator("table.sessions").inner_text()
    page.locator("table.sessions tbody tr a").first.click()
    page.locator(".turn").first.wait_for()
    assert_inert(page, watched)
