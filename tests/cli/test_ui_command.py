"""``lanterna ui`` (issue 13): the server on the default store, opening the browser on the UI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from conftest import ROOT


def test_lanterna_ui_serves_the_default_store_and_opens_the_browser(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "browser.sh"  # webbrowser runs $BROWSER with the URL
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANTERNA_TRACKING_URI", "MLFLOW_TRACKING_URI")}
    env.update(BROWSER=str(browser), PYTHONPATH=str(ROOT / "src"))
    subprocess.run([sys.executable, "-m", "lanterna", "demo"], cwd=tmp_path, env=env,
                   check=True, capture_output=True, timeout=120)
    process = subprocess.Popen(
        [sys.executable, "-m", "lanterna", "ui", "--port", str(port), "--log-level", "warning"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert opened.read_text().strip() == f"http://127.0.0.1:{port}/"
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(base + "/") as response:
            assert b'<script type="module"' in response.read()
        with urllib.request.urlopen(base + "/api/v1/traces?experiment_id=0") as response:
            traces = json.load(response)["traces"]
        assert [t["info"]["tags"]["mlflow.traceName"] for t in traces] == ["answer_question"]
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0]
    assert f"lanterna ui: http://127.0.0.1:{port}/" in output
