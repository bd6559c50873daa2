"""``lanterna server``: lanterna's server (REST API, OTLP ingest, MLflow endpoints, web UI) on
uvicorn.

Binds 127.0.0.1 unless told otherwise; any other address needs a token (``--token`` or
``LANTERNA_SERVER_TOKEN``), so traces are never served to a network without one.
"""

from __future__ import annotations

import argparse
import atexit
import ipaddress
import json
import os
import shutil
import sys
import tempfile
from typing import Any

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5000


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "server", help="run lanterna's server: REST API, OTLP ingest, MLflow endpoints, UI",
        description="Serve traces over HTTP: lanterna's REST API (/api/v1), OTLP/HTTP ingest "
                    "(/v1/traces), MLflow's tracking-server trace endpoints and the web UI.",
    )
    add_server_arguments(parser)
    parser.set_defaults(func=run)


def add_server_arguments(parser: argparse.ArgumentParser, port: int = DEFAULT_PORT) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help="address to bind (default 127.0.0.1; others need a token)")
    parser.add_argument("--port", type=int, default=port, help=f"port (default {port})")
    parser.add_argument("--backend-store-uri", "--uri", dest="backend_store_uri", default=None,
                        metavar="URI",
                        help="where traces are kept: sqlite:///path or postgresql://... "
                             "(default: the SDK's default store)")
    parser.add_argument("--workers", type=int, default=1, metavar="N",
                        help="worker processes (default 1)")
    parser.add_argument("--token", default=None,
                        help="require 'Authorization: Bearer TOKEN' on every route but /health "
                             "(default: LANTERNA_SERVER_TOKEN)")
    parser.add_argument("--max-request-bytes", type=int, default=None, metavar="BYTES",
                        help="largest request body accepted (default 64 MiB)")
    parser.add_argument("--cors-origin", action="append", default=[], metavar="ORIGIN",
                        help="allow browser calls from ORIGIN (repeatable; default: none)")
    parser.add_argument("--log-level", default="info",
                        choices=["critical", "error", "warning", "info", "debug"])


def run(args: argparse.Namespace) -> int:
    from lanterna.settings import setting

    token = args.token or setting("server_token") or None
    refusal = check_options(args.host, token, args.workers, args.port)
    if refusal:
        print(f"lanterna server: {refusal}", file=sys.stderr)
        return 2
    try:
        import uvicorn

        from lanterna.server import app as server_app
    except ImportError as exc:
        print(f"lanterna server needs its extra: pip install 'lanterna[server]' ({exc})",
              file=sys.stderr)
        return 1
    try:
        store = server_app.open_store(args.backend_store_uri)
    except ValueError as exc:
        print(f"lanterna server: {exc}", file=sys.stderr)
        return 2
    server_app.prepare_store(store)  # migrate once here, not in every worker at once
    config = {"store_uri": store.uri, "token": token, "cors_origins": args.cors_origin,
              "max_request_bytes": args.max_request_bytes}
    os.environ[server_app.CONFIG_ENV] = json.dumps(config)
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics here; any worker answers /metrics with their sum.
        shared = tempfile.mkdtemp(prefix="lanterna-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
        atexit.register(shutil.rmtree, shared, True)
    print(f"lanterna server: traces in {store.where}; listening on "
          f"http://{_url_host(args.host)}:{args.port}"
          f"{' (token required)' if token else ''}", file=sys.stderr, flush=True)
    uvicorn.run(
        "lanterna.server.app:app_from_environment", factory=True, host=args.host,
        port=args.port, workers=args.workers, log_level=args.log_level,
        proxy_headers=False, server_header=False,
    )
    return 0


def check_options(host: str, token: str | None, workers: int, port: int) -> str | None:
    """Why these options are refused, or None."""
    if workers < 1:
        return f"--workers must be at least 1, got {workers}."
    if not 0 <= port <= 65535:
        return f"--port must be between 0 and 65535, got {port}."
    if not token and not is_loopback(host):
        return (
            f"refusing to serve traces on {host!r} without a token: anyone who can reach that "
            "address could read and delete them. Either set a token (--token TOKEN or "
            "LANTERNA_SERVER_TOKEN=TOKEN; clients send it as LANTERNA_TRACKING_TOKEN or "
            "MLFLOW_TRACKING_TOKEN) or bind to this machine only (--host 127.0.0.1)."
        )
    return None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
