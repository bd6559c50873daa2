"""``lanterna.otel.capture()`` on the global provider, and W3C context through both libraries'
helpers (each case in a fresh interpreter: OpenTelemetry's global provider is set once)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_python

pytest.importorskip("opentelemetry.sdk")


def test_capture_sets_a_global_provider_when_there_is_none(tmp_path: Path) -> None:
    code = (
        "import lanterna, lanterna.otel\n"
        "from opentelemetry import trace\n"
        "processor = lanterna.otel.capture()\n"
        "assert lanterna.otel.capture() is processor  # once per provider\n"
        "tracer = trace.get_tracer('lib')\n"
        "@lanterna.trace\n"
        "def work():\n"
        "    with tracer.start_as_current_span('lib.call') as span:\n"
        "        span.set_attribute('gen_ai.operation.name', 'execute_tool')\n"
        "work()\n"
        "t = lanterna.get_trace(lanterna.get_last_active_trace_id())\n"
        "print([(s.name, s.span_type) for s in t.data.spans])\n"
    )
    result = run_python(code, tmp_path, env={"LANTERNA_TRACKING_URI": "memory://"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[('work', 'UNKNOWN'), ('lib.call', 'TOOL')]"


def test_capture_adds_to_the_applications_provider_and_keeps_its_exporter(
    tmp_path: Path,
) -> None:
    code = (
        "import lanterna, lanterna.otel\n"
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from opentelemetry.sdk.trace.export import SimpleSpanProcessor\n"
        "from opentelemetry.sdk.trace.export.in_memory_span_exporter import "
        "InMemorySpanExporter\n"
        "exporter = InMemorySpanExporter()\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(SimpleSpanProcessor(exporter))\n"
        "trace.set_tracer_provider(provider)\n"
        "lanterna.otel.capture()\n"
        "with trace.get_tracer('app').start_as_current_span('request'):\n"
        "    with lanterna.start_span('step'):\n"
        "        pass\n"
        "assert trace.get_tracer_provider() is provider\n"
        "t = lanterna.get_trace(lanterna.get_last_active_trace_id())\n"
        "print(sorted(s.name for s in t.data.spans), [s.name for s in "
        "exporter.get_finished_spans()])\n"
    )
    result = run_python(code, tmp_path, env={"LANTERNA_TRACKING_URI": "memory://"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['request', 'step'] ['request']"


def test_lanterna_extracted_context_parents_otel_spans(tmp_path: Path) -> None:
    code = (
        "import lanterna, lanterna.otel\n"
        "from opentelemetry import propagate\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "provider = TracerProvider()\n"
        "provider.add_span_processor(lanterna.otel.SpanProcessor())\n"
        "tracer = provider.get_tracer('app')\n"
        "incoming = {'traceparent': '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01'}\n"
        "with lanterna.tracing.set_tracing_context_from_http_request_headers(incoming):\n"
        "    with tracer.start_as_current_span('db') as db:\n"
        "        out = {}\n"
        "        propagate.inject(out)\n"
        "        print(out['traceparent'] == lanterna.tracing."
        "get_tracing_context_headers_for_http_request()['traceparent'])\n"
        "ctx = db.get_span_context()\n"
        "print(f'{ctx.trace_id:032x}', f'{db.parent.span_id:016x}')\n"
    )
    result = run_python(code, tmp_path, env={"LANTERNA_TRACKING_URI": "memory://"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True", "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"]


def test_import_lanterna_otel_alone_loads_no_opentelemetry(tmp_path: Path) -> None:
    code = (
        "import sys\nimport lanterna, lanterna.otel, lanterna.otel.conventions\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_without_the_sdk_the_error_names_the_package(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.modules['opentelemetry.sdk'] = None  # as if it were not installed\n"
        "sys.modules['opentelemetry.sdk.trace'] = None\n"
        "import lanterna.otel\n"
        "try:\n    lanterna.otel.SpanProcessor\nexcept ImportError as exc:\n    print(exc)\n"
    )
    result = run_python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "pip install opentelemetry-sdk" in result.stdout
