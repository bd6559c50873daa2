"""The server's ASGI app: ``create_app(store_uri, token=...)``.

What it serves:

* ``/health`` (never needs the token), ``/metrics`` (Prometheus text);
* lanterna's REST API under ``/api/v1`` (``server/api/``), described by ``/api/v1/openapi.json``;
* the routes of the optional route modules listed in ``ROUTE_MODULES``, each mounted when it
  can be imported: a module exposes ``routes(state: ServerState) -> list[BaseRoute]`` and gets
  the store, the limits and the token through ``state``. OTLP ingest (``server/otlp/routes.py``)
  and MLflow's tracking-server endpoints (``server/mlflow_api/routes.py``) plug in this way.
  Routes whose clients expect another error shape (MLflow's ``error_code``, OTLP's status)
  turn their errors into responses themselves; anything else that escapes a route gets
  lanterna's shape (``server/errors.py``): 4xx for bad input, 503 + ``Retry-After`` while the
  store is down, 500 without details otherwise;
* the web UI at ``/`` when ``server/ui/`` exists (static files).

Every response carries a strict Content-Security-Policy. With a token every route but
``/health`` needs ``Authorization: Bearer <token>``. Request bodies are capped
(``Limits.max_request_bytes``). The app keeps no state between requests but the store's
connection pool, so any number of processes can serve one PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from lanterna.server import errors, metrics
from lanterna.server.middleware import BearerAuth, BodyLimit, SecurityHeaders, Timing
from lanterna.server.upkeep import Upkeep
from lanterna.store.sql.store import SqlStore

_log = logging.getLogger("lanterna.server")

#: Optional route modules, mounted in this order when importable (see the module docstring).
ROUTE_MODULES = (
    "lanterna.server.otlp.routes",
    "lanterna.server.mlflow_api.routes",
)
UI_DIRECTORY = Path(__file__).parent / "ui"
#: ``lanterna server`` hands its options to ``app_from_environment`` in each worker through this.
CONFIG_ENV = "_LANTERNA_SERVER_CONFIG"


@dataclass(frozen=True)
class Limits:
    """Bounds on what one request may carry; each one exceeded answers a clear 4xx."""

    #: Request body as sent (before decompression).
    max_request_bytes: int = 64 * 1024 * 1024
    #: Body after gzip/deflate decompression (OTLP ingest).
    max_decompressed_bytes: int = 256 * 1024 * 1024
    #: Spans in one ingest request.
    max_spans_per_request: int = 100_000
    #: One attribute value (its JSON text).
    max_attribute_bytes: int = 16 * 1024 * 1024


@dataclass
class ServerState:
    """What routes share: the store, the limits and the token (None: no auth)."""

    store: SqlStore
    limits: Limits = field(default_factory=Limits)
    token: str | None = None


def create_app(
    store_uri: str | None = None,
    *,
    token: str | None = None,
    limits: Limits | None = None,
    cors_origins: Sequence[str] = (),
    store: SqlStore | None = None,
) -> Starlette:
    """The server app for the store at ``store_uri`` (default: the SDK's default store).

    ``token``: require ``Authorization: Bearer <token>`` on every route but ``/health``.
    ``cors_origins``: origins allowed to call the API from a browser (none by default).
    """
    from lanterna.server.api import routes as api_routes

    state = ServerState(store=store or open_store(store_uri), limits=limits or Limits(),
                        token=token or None)
    routes: list[BaseRoute] = [
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_text, methods=["GET"]),
        *api_routes.routes(state),
    ]
    for name in ROUTE_MODULES:
        routes.extend(_optional_routes(name, state))
    if UI_DIRECTORY.is_dir():
        routes.append(Mount("/", app=StaticFiles(directory=UI_DIRECTORY, html=True), name="ui"))
    names = _route_names(routes)
    middleware = [Middleware(Timing, route_names=names), Middleware(SecurityHeaders)]
    if cors_origins:
        middleware.append(Middleware(
            CORSMiddleware, allow_origins=list(cors_origins),
            allow_methods=["GET", "POST", "PUT", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Content-Encoding"],
        ))
    if state.token:
        middleware.append(Middleware(BearerAuth, token=state.token))
    middleware.append(Middleware(BodyLimit, max_bytes=state.limits.max_request_bytes))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        prepare_store(state.store)
        upkeep = Upkeep(state.store)
        upkeep.start()
        yield
        upkeep.stop()
        state.store.dispose()

    app = Starlette(
        routes=routes,
        middleware=middleware,
        exception_handlers=errors.handlers(),
        lifespan=lifespan,
    )
    app.state.lanterna = state
    return app


def open_store(store_uri: str | None) -> SqlStore:
    """The SQL store the server serves; a URI it cannot serve is refused with the ones it can."""
    from lanterna.store import uri as uris

    chosen = store_uri or uris.get_tracking_uri()
    if store_uri is None and uris.is_server(chosen):  # the SDK pointed at a server: not here
        chosen = uris.DEFAULT_URI
    if not uris.supported(chosen) or uris.is_server(chosen) or chosen.startswith("memory:"):
        raise ValueError(
            f"lanterna server cannot keep traces in {chosen!r}; use --backend-store-uri with "
            "sqlite:///path/to/file.db or postgresql://user@host:port/database."
        )
    return SqlStore(chosen)


def app_from_environment() -> Starlette:
    """The app as ``lanterna server`` configured it (uvicorn calls this in each worker)."""
    import json
    import os

    config = json.loads(os.environ.get(CONFIG_ENV) or "{}")
    defaults = Limits()
    limits = Limits(max_request_bytes=config.get("max_request_bytes")
                    or defaults.max_request_bytes)
    return create_app(config.get("store_uri"), token=config.get("token"), limits=limits,
                      cors_origins=config.get("cors_origins") or ())


def prepare_store(store: SqlStore) -> None:
    """Open the store (and migrate it) at start-up, so problems show at once; a store that is
    down only makes requests answer 503 until it is back."""
    try:
        store.engine()
    except Exception as exc:
        if not errors.is_outage(exc) and not _is_driver_error(exc):
            raise
        _log.warning("lanterna server: the store at %s is unavailable for now (%s); requests "
                     "answer 503 until it is back.", store.where, exc)


def _is_driver_error(exc: BaseException) -> bool:
    from sqlalchemy.exc import SQLAlchemyError

    return isinstance(exc, SQLAlchemyError)


def _optional_routes(module_name: str, state: ServerState) -> list[BaseRoute]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_name.startswith(exc.name):
            return []  # not written (yet): nothing to mount
        raise
    return list(module.routes(state))


def _route_names(routes: list[BaseRoute]) -> Any:
    """endpoint -> path template, for metric labels."""
    templates: dict[int, str] = {}
    for route in routes:
        if isinstance(route, Route):
            templates[id(route.endpoint)] = route.path
        elif isinstance(route, Mount):
            templates[id(route.app)] = (route.path or "") + "/{path}"

    def name(endpoint: Any) -> str:
        return templates.get(id(endpoint), "unmatched") if endpoint is not None else "unmatched"

    return name


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def metrics_text(request: Request) -> Response:
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
