"""Sessions, compare and delete in the browser (issue 13): a session's traces read as one
conversation in order; ticked traces compare side by side or are deleted (after an in-page
confirmation, never a browser dialog)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import lanterna
from lanterna.entities import SpanType

from .browser import Watched, list_ids

TURNS = [("Hi, who are you?", "A support bot."), ("Weather in Lisbon?", "Clear, 21 °C."),
         ("Thanks!", "You're welcome.")]


def write_session(session: str) -> list[str]:
    ids = []
    t0 = time.time_ns() - 60_000_000_000
    for n, (question, answer) in enumerate(reversed(TURNS)):  # written newest first
        start = t0 + (len(TURNS) - n) * 1_000_000_000
        span = lanterna.start_span_no_context("chat_turn", span_type=SpanType.AGENT,
                                              inputs={"messages": [{"role": "user",
                                                                    "content": question}]},
                                              start_time_ns=start,
                                              metadata={"mlflow.trace.session": session,
                                                        "mlflow.trace.user": "ana"})
        span.end(outputs=answer, end_time_ns=start + 5_000_000)
        ids.append(str(span.trace_id))
    lanterna.flush_trace_async_logging()
    return ids


def test_a_session_reads_as_one_conversation_in_order(
    tmp_path: Path, server_for: Any, watched: Watched
) -> None:
    uri = f"sqlite:///{tmp_path / 'sessions.db'}"
    lanterna.set_tracking_uri(uri)
    experiment = lanterna.set_experiment(f"sessions-{uuid.uuid4().hex[:6]}").experiment_id
    try:
        write_session("sess-1")
        with lanterna.start_span("no session"):
            pass
        lanterna.flush_trace_async_logging()
    finally:
        lanterna.set_tracking_uri(None)
    server = server_for(uri)
    page = watched.page
    page.goto(f"{server.url}/#/sessions?exp={experiment}")
    first = page.locator("table.sessions tbody tr").first
    first.wait_for()
    assert page.locator("table.sessions tbody tr").count() == 1
    assert first.inner_text().split("\t")[:2] == ["sess-1", "3"]
    first.locator("a").click()
    page.locator(".turn").nth(2).wait_for()
    users = page.locator(".turn .role-user .msg-text").all_inner_texts()
    bots = page.locator(".turn .role-assistant .msg-text").all_inner_texts()
    assert users == [q for q, _ in TURNS]
    assert bots == [a for _, a in TURNS]


def test_compare_and_delete_selected_traces(
    tmp_path: Path, server_for: Any, watched: Watched
) -> None:
    uri = f"sqlite:///{tmp_path / 'select.db'}"
    lanterna.set_tracking_uri(uri)
    experiment = lanterna.set_experiment(f"select-{uuid.uuid4().hex[:6]}").experiment_id
    try:
        for name in ("first", "second", "third"):
            with lanterna.start_span(name):
                pass
            time.sleep(0.005)
        lanterna.flush_trace_async_logging()
        server = server_for(uri)
        page = watched.page
        page.goto(f"{server.url}/#/traces?exp={experiment}")
        ids = list_ids(page)
        assert len(ids) == 3
        boxes = page.locator("table.traces tbody td.select input")
        boxes.nth(0).check()
        boxes.nth(1).check()
        page.get_by_role("button", name="Compare 2").click()
        page.locator("table.compare").wait_for()
        compare = page.locator("table.compare").inner_text()
        assert "third" in compare and "second" in compare and "first" not in compare

        page.go_back()
        page.locator("table.traces tbody tr").first.wait_for()
        page.locator("table.traces tbody td.select input").nth(0).check()
        page.get_by_role("button", name="Delete 1").click()
        page.get_by_role("button", name="Yes, delete").click()
        page.wait_for_function("() => document.querySelectorAll('table.traces tbody tr')"
                               ".length === 2")
        left = {t.info.trace_id for t in lanterna.search_traces(
            experiment_ids=[experiment], return_type="list", include_spans=False)}
        assert left == set(ids[1:])
        assert watched.dialogs == []
    finally:
        lanterna.set_tracking_uri(None)
