"""The rest of ``mlflow.tracing``'s public names: chat tools on a span, the notebook display
switches, trace destinations, and clear refusals for the Databricks-only ones."""

from __future__ import annotations

from lanterna.entities.span import LiveSpan, SpanAttributeKey
from lanterna.exceptions import MlflowException
from lanterna.tracing import runtime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

#: Whether a notebook shows a trace view under a cell that produced traces (read by the
#: notebook display; ``enable_notebook_display`` / ``disable_notebook_display`` switch it).
notebook_display = [True]


def enable_notebook_display() -> None:
    """Show traces produced by a notebook cell under it (the default)."""
    notebook_display[0] = True


def disable_notebook_display() -> None:
    """Stop showing traces under notebook cells; tracing itself goes on."""
    notebook_display[0] = False


def set_span_chat_tools(span: LiveSpan, tools: list[dict[str, Any]]) -> None:
    """Record the tools offered to a chat model on ``span`` (attribute ``mlflow.chat.tools``),
    in OpenAI's format: ``[{"type": "function", "function": {"name": ..., ...}}]``."""
    if not isinstance(tools, list):
        raise MlflowException(
            f"Invalid tools: expected a list of tool definitions, got {type(tools).__name__}. "
            '(lanterna: pass [{"type": "function", "function": {"name": "...", '
            '"parameters": {...}}}].)'
        )
    for index, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if (not isinstance(tool, dict) or tool.get("type", "function") != "function"
                or not isinstance(function, dict) or not isinstance(function.get("name"), str)):
            raise MlflowException(
                f"Invalid tool definition at index {index}: {tool!r}. (lanterna: each tool is "
                '{"type": "function", "function": {"name": "...", ...}}.)'
            )
    if isinstance(span, LiveSpan):
        span.set_attribute(SpanAttributeKey.CHAT_TOOLS, tools)


def set_destination(destination: Any, *, context_local: bool = False) -> None:
    """Send new traces to an experiment: ``MlflowExperimentLocation(experiment_id=...)`` (or
    any object with an ``experiment_id``). Databricks destinations are refused."""
    experiment_id = getattr(destination, "experiment_id", None)
    if experiment_id is None:
        raise MlflowException(
            f"Unsupported trace destination {destination!r}. (lanterna stores traces in "
            "experiments: pass MlflowExperimentLocation(experiment_id=...), or use "
            "set_experiment / set_tracking_uri; Databricks destinations do not apply.)"
        )
    runtime.config.experiment_id = str(experiment_id)


def get_bridged_tracer_provider() -> NoReturn:
    raise MlflowException(
        "get_bridged_tracer_provider is not available in lanterna: lanterna does not run its "
        "spans through an OpenTelemetry TracerProvider. Send OpenTelemetry spans to lanterna's "
        "OTLP endpoint (lanterna server, POST /v1/traces) instead."
    )


def _databricks_only(name: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        raise MlflowException(
            f"{name} is Databricks-only (it configures Unity Catalog trace storage); lanterna "
            "keeps traces in the experiments of its tracking URI. Use set_experiment(...) and "
            "set_tracking_uri(...) instead."
        )

    refuse.__name__ = name
    refuse.__doc__ = "Databricks-only in MLflow; lanterna raises a message saying so."
    return refuse


set_experiment_trace_location = _databricks_only("set_experiment_trace_location")
unset_experiment_trace_location = _databricks_only("unset_experiment_trace_location")
set_databricks_monitoring_sql_warehouse_id = _databricks_only(
    "set_databricks_monitoring_sql_warehouse_id")
