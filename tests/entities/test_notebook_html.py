"""Notebook display (issue 13): a Trace and a page of search results render as self-contained
HTML (no script, every string escaped), linked to the web UI when a server is known."""

from __future__ import annotations

from pathlib import Path

import pytest

import lanterna
from lanterna.entities import SpanType

EVIL = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def make_trace() -> str:
    with lanterna.start_span(EVIL, span_type=SpanType.AGENT):
        with lanterna.start_span("llm", span_type=SpanType.CHAT_MODEL) as llm:
            llm.set_attribute("mlflow.chat.tokenUsage",
                              {"input_tokens": 3, "output_tokens": 4, "total_tokens": 7})
        try:
            with lanterna.start_span("tool", span_type=SpanType.TOOL):
                raise ValueError("boom")
        except ValueError:
            pass
    return str(lanterna.get_last_active_trace_id())


def test_trace_displays_as_an_escaped_tree_without_script(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("LANTERNA_UI_URL", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    trace = lanterna.get_trace(make_trace())
    assert trace is not None
    page = trace._repr_html_()
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.index("llm") < page.index("tool")  # the tree, in order
    assert "CHAT_MODEL" in page and "7 tokens" in page and "ERROR" not in page.split("tool")[0]
    assert "open in lanterna" not in page  # no server known: no link

    monkeypatch.setenv("LANTERNA_UI_URL", "http://127.0.0.1:5000/")
    linked = trace._repr_html_()
    assert f'href="http://127.0.0.1:5000/#/trace/{trace.info.trace_id}?exp=0"' in linked


def test_search_results_display_as_a_linked_table(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LANTERNA_UI_URL", "http://localhost:5000")
    lanterna.set_tracking_uri(f"sqlite:///{tmp_path / 'nb.db'}")
    try:
        ids = {make_trace() for _ in range(3)}
        found = lanterna.search_traces(return_type="list")
        page = found._repr_html_()
        assert page is not None and "3 traces" in page and "<script" not in page
        for trace_id in ids:
            assert f"http://localhost:5000/#/trace/{trace_id}" in page
    finally:
        lanterna.set_tracking_uri(None)


def test_a_big_trace_shows_part_and_counts_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTERNA_UI_URL", "http://localhost:5000")
    with lanterna.start_span("root"):
        for i in range(300):
            with lanterna.start_span(f"child-{i}"):
                pass
    trace = lanterna.get_trace(str(lanterna.get_last_active_trace_id()))
    assert trace is not None
    page = trace._repr_html_()
    assert "… and 101 more spans" in page and "child-198" in page and "child-199" not in page
