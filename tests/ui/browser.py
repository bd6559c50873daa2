"""Helpers of the browser tests: the Chromium they drive, a real ``lanterna server`` process,
and what the page shows."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("LANTERNA_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]


def unavailable(reason: str) -> None:
    """Skip for want of a browser, except with ``CI=true``: there the tests must run."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), env.get("PYTHONPATH", "")) if p)
    return env


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]
    log: Path
    handle: Any

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.handle.close()


def start_server(store_uri: str, log: Path, *args: str) -> Server:
    """``lanterna server`` on a free port, ready (``/health`` answers)."""
    port = free_port()
    handle = log.open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "lanterna", "server", "--backend-store-uri", store_uri,
         "--port", str(port), "--log-level", "warning", *args],
        stdout=handle, stderr=subprocess.STDOUT, text=True, env=subprocess_env(),
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as response:
                if response.status == 200:
                    return Server(url, process, log, handle)
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            handle.close()
            raise RuntimeError(f"lanterna server did not start:\n{log.read_text()}")
        time.sleep(0.2)


@dataclass
class Watched:
    """A page and what it did that it should not: dialogs opened, errors logged."""

    page: Any
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def script_errors(self) -> list[str]:
        # A refused request (a 400 for a bad filter) is logged by the browser itself.
        return [e for e in self.errors if "Failed to load resource" not in e]


def open_trace(page: Any, server: Server, trace_id: str, query: str = "") -> None:
    page.goto(f"{server.url}/#/trace/{trace_id}{query}")
    page.wait_for_selector(".trace-view[data-ready='1']")


def row(page: Any, name: str) -> Any:
    return page.locator(".rows .row:not([hidden])", has=page.locator(".name", has_text=name))


def selected_name(page: Any) -> str:
    return str(page.locator(".row.selected .name").inner_text())


def list_ids(page: Any) -> list[str]:
    """Trace ids of the list's rows, once the list has settled."""
    page.wait_for_function(
        "() => { const s = document.querySelector('.list-status');"
        " return s && s.textContent && s.textContent !== 'Loading…'; }")
    ids = page.eval_on_selector_all("table.traces tbody tr",
                                    "rows => rows.map(r => r.dataset.traceId)")
    return [str(i) for i in ids]
