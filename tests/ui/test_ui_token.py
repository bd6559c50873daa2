"""A server with a token (issue 13): the page asks for it once, keeps it for the tab (session
storage), and sends it with every API call; a wrong token is asked again."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import lanterna

from .browser import Watched


def test_the_token_is_asked_once_and_kept_for_the_tab(
    tmp_path: Path, server_for: Any, watched: Watched
) -> None:
    uri = f"sqlite:///{tmp_path / 'token.db'}"
    lanterna.set_tracking_uri(uri)
    experiment = lanterna.set_experiment(f"token-{uuid.uuid4().hex[:6]}").experiment_id
    try:
        with lanterna.start_span("guarded"):
            pass
        lanterna.flush_trace_async_logging()
    finally:
        lanterna.set_tracking_uri(None)
    server = server_for(uri, "--token", "s3cret-token")
    page = watched.page
    page.goto(f"{server.url}/#/traces?exp={experiment}")
    box = page.locator("#token-input")
    box.wait_for()
    box.fill("wrong")
    box.press("Enter")
    page.get_by_text("That token was refused").wait_for()
    page.locator("#token-input").fill("s3cret-token")
    page.locator("#token-input").press("Enter")
    page.locator("table.traces tbody tr", has_text="guarded").wait_for()
    assert page.evaluate("sessionStorage.getItem('lanterna.token')") == "s3cret-token"

    page.reload()  # same tab: not asked again
    page.locator("table.traces tbody tr", has_text="guarded").wait_for()
    assert page.locator("#token-input").count() == 0
    assert watched.dialogs == []
