"""``lanterna ui``: ``lanterna server`` on the default store, opening the web UI in a browser
once the server answers (as ``mlflow ui`` does)."""

from __future__ import annotations

import argparse
import sys
import threading
import time
import urllib.request
from typing import Any


def add_parser(subparsers: Any) -> None:
    from lanterna.cli.server import add_server_arguments

    parser = subparsers.add_parser(
        "ui", help="open the web UI on your traces (the server, on the default store)",
        description="Serve the default store (or --backend-store-uri) like 'lanterna server' "
                    "and open the web UI in a browser.",
    )
    add_server_arguments(parser)
    parser.add_argument("--no-browser", action="store_true",
                        help="only print the address; do not open a browser")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lanterna.cli import server

    host = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    url = f"http://{'[' + host + ']' if ':' in host else host}:{args.port}"
    print(f"lanterna ui: {url}/", file=sys.stderr, flush=True)
    if not args.no_browser:
        threading.Thread(target=_open_when_ready, args=(url,), daemon=True).start()
    return int(server.run(args) or 0)


def _open_when_ready(url: str, wait_s: float = 60.0) -> None:
    """Open the browser once ``/health`` answers, so the first page never fails to load."""
    import webbrowser

    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        return
    try:
        webbrowser.open(url + "/")
    except Exception as exc:  # no browser here: the address is printed already
        print(f"lanterna ui: could not open a browser ({exc}); open {url}/", file=sys.stderr)
