"""Refresh the README's screenshots of the web UI (docs/ui-*.png).

Writes a small support-agent app's traces (retrieval, tool calls, a failure, chat turns in
sessions) into a throw-away SQLite store, serves it with ``lanterna server`` and photographs the
trace list, the trace view and the chat view in headless Chromium at 1280×720.

    python scripts/ui_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import lanterna
from lanterna.entities import Document, SpanType

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
QUESTIONS = [
    "How do I reset my password?", "What is the refund policy for annual plans?",
    "Summarise yesterday's incident report", "Translate the onboarding email to Portuguese",
    "Which regions support GPU instances?", "Draft a reply to the customer about the outage",
]


def support_agent(i: int) -> None:
    question = QUESTIONS[i % len(QUESTIONS)]
    with lanterna.start_span("support_agent", span_type=SpanType.AGENT) as root:
        root.set_inputs({"question": question})
        lanterna.update_current_trace(tags={"env": "prod" if i % 3 else "staging",
                                            "version": f"v1.{i % 3}"},
                                      session_id=f"sess-{i // 3}", user=("ana", "ben")[i % 2])
        with lanterna.start_span("search_docs", span_type=SpanType.RETRIEVER) as search:
            search.set_inputs({"query": question, "k": 3})
            time.sleep(0.02)
            search.set_outputs([Document(
                page_content=f"Article {k}: what to know about {question.lower()}",
                metadata={"doc_uri": f"kb/article-{k}.md", "score": round(0.92 - k * 0.07, 2)},
                id=f"doc-{k}") for k in range(3)])
        messages = [{"role": "system", "content": "You are a support agent. Use tools."},
                    {"role": "user", "content": question}]
        call = {"id": f"call_{i}", "type": "function", "function": {
            "name": "lookup_account", "arguments": '{"user": "ana", "fields": ["plan"]}'}}
        with lanterna.start_span("ChatCompletion", span_type=SpanType.CHAT_MODEL) as llm:
            llm.set_inputs({"model": "gpt-4o-mini", "messages": messages})
            time.sleep(0.04)
            llm.set_outputs({"choices": [{"message": {"role": "assistant", "content": None,
                                                      "tool_calls": [call]}}]})
            llm.set_attribute("mlflow.chat.tokenUsage",
                              {"input_tokens": 120, "output_tokens": 18, "total_tokens": 138})
        with lanterna.start_span("lookup_account", span_type=SpanType.TOOL) as tool:
            tool.set_inputs({"user": "ana", "fields": ["plan"]})
            time.sleep(0.01)
            if i % 5 == 3:
                raise TimeoutError("account service did not answer within 5 s")
            tool.set_outputs({"plan": "annual"})
        with lanterna.start_span("ChatCompletion", span_type=SpanType.CHAT_MODEL) as llm:
            answer = f"You are on the annual plan, so here is how to proceed: {question.lower()}"
            llm.set_inputs({"model": "gpt-4o-mini", "messages": messages + [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": f"call_{i}", "content": '{"plan": "annual"}'}]})
            time.sleep(0.05)
            llm.set_outputs({"choices": [{"message": {"role": "assistant", "content": answer}}]})
            llm.set_attribute("mlflow.chat.tokenUsage",
                              {"input_tokens": 210, "output_tokens": 42, "total_tokens": 252})
        root.set_outputs(answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "docs"))
    out = Path(parser.parse_args().out)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        uri = f"sqlite:///{Path(tmp) / 'shots.db'}"
        lanterna.set_tracking_uri(uri)
        for i in range(12):
            try:
                support_agent(i)
            except TimeoutError:
                pass
        lanterna.flush_trace_async_logging()
        (trace,) = lanterna.search_traces(filter_string="trace.status = 'OK'", max_results=1,
                                          return_type="list")
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([sys.executable, "-m", "lanterna", "server",
                                   "--backend-store-uri", uri, "--port", str(port),
                                   "--log-level", "warning"])
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    urllib.request.urlopen(url + "/health", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                     args=ARGS)
                page = browser.new_page(viewport={"width": 1280, "height": 720})
                page.emulate_media(color_scheme="light")
                page.goto(url + "/")
                page.locator("table.traces tbody tr").first.wait_for()
                page.screenshot(path=str(out / "ui-list.png"))
                page.goto(f"{url}/#/trace/{trace.info.trace_id}")
                page.wait_for_selector(".trace-view[data-ready='1']")
                page.keyboard.press("j")
                page.locator(".doc-card").first.wait_for()
                page.screenshot(path=str(out / "ui-trace.png"))
                page.emulate_media(color_scheme="dark")
                page.keyboard.press("End")
                page.locator(".chat").wait_for()
                page.wait_for_timeout(300)
                page.screenshot(path=str(out / "ui-chat.png"))
                browser.close()
        finally:
            server.terminate()
            server.wait()
            lanterna.set_tracking_uri(None)
    print(f"screenshots written to {out}")


if __name__ == "__main__":
    main()
