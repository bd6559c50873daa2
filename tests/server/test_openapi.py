"""The OpenAPI document matches the routes both ways, and a schemathesis run against a real
server finds no 5xx and no response that breaks the document."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.routing import Route

import lanterna
from lanterna.testing.server import RunningServer, running_server

from .httpcall import call

TOKEN = "openapi-token"
OWN = re.compile(r"^/(api/v1/|health$|metrics$)")


def app_operations(tmp_path: Path) -> set[tuple[str, str]]:
    from lanterna.server.app import create_app

    app = create_app(f"sqlite:///{tmp_path / 't.db'}")
    found = set()
    for route in app.routes:
        if isinstance(route, Route) and OWN.match(route.path):
            path = route.path.replace(":path}", "}")
            found |= {(method.lower(), path) for method in route.methods or ()
                      if method != "HEAD"}
    return found


def documented_operations() -> set[tuple[str, str]]:
    from lanterna.server.api.openapi import document

    return {(method, path) for path, item in document()["paths"].items() for method in item}


def test_every_route_is_documented_and_every_documented_route_exists(tmp_path: Path) -> None:
    routes = app_operations(tmp_path)
    documented = documented_operations()
    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations no route serves"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    uri = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 't.db'}"
    lanterna.set_tracking_uri(uri)
    try:
        for i in range(3):
            with lanterna.start_span(f"seed-{i}") as span:
                span.set_inputs({"i": i, "text": "hello <script>alert(1)</script>"})
        lanterna.flush_trace_async_logging()
    finally:
        lanterna.set_tracking_uri(None)
    with running_server(uri, token=TOKEN) as running:
        yield running


def test_served_document_is_the_document(server: RunningServer) -> None:
    from lanterna.server.api.openapi import document

    served = call("GET", server.url + "/api/v1/openapi.json", token=TOKEN).json()
    assert served == document()


def test_schemathesis_finds_no_server_error_and_no_schema_break(
    server: RunningServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import schemathesis

    monkeypatch.chdir(tmp_path)  # schemathesis looks for its config from the working directory

    from lanterna.server.api.openapi import document

    with warnings.catch_warnings():  # schemathesis 3 uses jsonschema's deprecated names
        warnings.simplefilter("ignore", DeprecationWarning)
        schema = schemathesis.openapi.from_dict(document())
        schema.validate()  # the document itself is valid OpenAPI 3.0
        failures = run_schemathesis(schema, server.url)
    assert failures == []


def run_schemathesis(schema: Any, base_url: str) -> list[str]:
    """Up to 30 generated requests per operation (bounded: about 400 requests in all)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import checks

    # No 5xx, and every response as documented. (A schema-valid request may still be refused:
    # a filter string is checked by the filter language, which JSON Schema cannot express.)
    CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
              checks.content_type_conformance, checks.response_schema_conformance,
              checks.response_headers_conformance]
    failures: list[str] = []

    def checker(operation: Any) -> Any:
        @settings(max_examples=30, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy() | st.nothing())
        def check(case: schemathesis.Case) -> None:
            try:
                case.call_and_validate(base_url=base_url, timeout=30,
                                       headers={"Authorization": f"Bearer {TOKEN}"},
                                       checks=CHECKS)
            except (AssertionError, checks.FailureGroup) as failure:
                failures.append(f"{operation.label}: {str(failure)[:2000]}")

        return check

    calls = 0
    for result in schema.get_all_operations():
        checker(result.ok())()
        calls += 1
    assert calls == len(documented_operations())
    return failures
