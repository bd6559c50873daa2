"""Browser tests of the web UI: Playwright driving Debian's Chromium (``/usr/bin/chromium``),
against a real ``lanterna server`` subprocess on a real store.

Without a browser the tests are skipped, except with ``CI=true``, where they fail: CI must not
pass by skipping. (A package, so this conftest never shadows the root one.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .browser import CHROMIUM, CHROMIUM_ARGS, Server, Watched, start_server, unavailable


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        unavailable(f"Playwright is not installed: {exc}")
    if not Path(CHROMIUM).exists():
        unavailable(f"Chromium is missing at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        try:
            launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:
            unavailable(f"Chromium at {CHROMIUM} does not start: {exc}")
        yield launched
        launched.close()


@pytest.fixture
def server_for(tmp_path: Path) -> Iterator[Any]:
    """``server_for(store_uri, *args)`` starts a server; all are stopped after the test."""
    started: list[Server] = []

    def start(store_uri: str, *args: str) -> Server:
        server = start_server(store_uri, tmp_path / f"server-{len(started)}.log", *args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(20_000)
    seen = Watched(page)

    def on_dialog(dialog: Any) -> None:
        seen.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda e: seen.errors.append(f"pageerror: {e}"))
    yield seen
    context.close()
