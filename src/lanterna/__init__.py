"""lanterna: fast, lossless tracing for LLM and agent applications.

A drop-in for MLflow 3 Tracing: ``import lanterna as mlflow`` and MLflow's tracing examples run
unchanged. Heavy parts (the client, the store, OpenAI auto-tracing) load on first use.
"""

from __future__ import annotations

from lanterna import _wiring, entities, tracing
from lanterna._traces import (
    add_trace,
    delete_trace_tag,
    flush_trace_async_logging,
    get_trace,
    log_trace,
    set_trace_tag,
)
from lanterna.tracing.decorator import trace
from lanterna.tracing.fluent import (
    get_active_trace_id,
    get_current_active_span,
    get_last_active_trace_id,
    start_span,
    start_span_no_context,
    update_current_trace,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from lanterna.client import Client

__version__ = "0.1.0"

__all__ = [
    "Client",
    "MlflowClient",
    "add_trace",
    "create_experiment",
    "delete_trace_tag",
    "delete_traces",
    "entities",
    "flush_trace_async_logging",
    "get_active_trace_id",
    "get_current_active_span",
    "get_experiment",
    "get_experiment_by_name",
    "get_last_active_trace_id",
    "get_trace",
    "get_tracking_uri",
    "log_trace",
    "openai",
    "search_experiments",
    "search_sessions",
    "search_traces",
    "set_experiment",
    "set_trace_tag",
    "set_tracking_uri",
    "start_span",
    "start_span_no_context",
    "trace",
    "tracing",
    "update_current_trace",
]

_LAZY = {
    "Client": ("lanterna.client", "Client"),
    "MlflowClient": ("lanterna.client", "Client"),
    "search_traces": ("lanterna._store_fluent", "search_traces"),
    "search_sessions": ("lanterna._store_fluent", "search_sessions"),
    "create_experiment": ("lanterna._store_fluent", "create_experiment"),
    "get_experiment": ("lanterna._store_fluent", "get_experiment"),
    "get_experiment_by_name": ("lanterna._store_fluent", "get_experiment_by_name"),
    "search_experiments": ("lanterna._store_fluent", "search_experiments"),
    "delete_traces": ("lanterna._store_fluent", "delete_traces"),
    "set_tracking_uri": ("lanterna._store_fluent", "set_tracking_uri"),
    "get_tracking_uri": ("lanterna._store_fluent", "get_tracking_uri"),
    "set_experiment": ("lanterna._store_fluent", "set_experiment"),
    "openai": ("lanterna.openai", None),
}


# MLflow names outside tracing: a one-line answer instead of a bare AttributeError.
_NOT_PROVIDED = {
    **dict.fromkeys(("start_run", "end_run", "active_run", "last_active_run", "get_run",
                     "search_runs", "delete_run", "log_metric", "log_metrics", "log_param",
                     "log_params", "log_artifact", "log_artifacts", "log_dict", "log_text",
                     "log_figure", "log_image", "log_table", "log_input", "set_tag", "set_tags",
                     "autolog"), "MLflow runs"),
    **dict.fromkeys(("log_model", "load_model", "register_model", "pyfunc", "models",
                     "set_active_model", "get_active_model_id", "create_external_model",
                     "search_logged_models", "register_prompt", "load_prompt"),
                    "MLflow models, the model registry and prompts"),
    **dict.fromkeys(("evaluate", "genai", "log_feedback", "log_expectation", "log_assessment",
                     "get_assessment", "update_assessment", "delete_assessment"),
                    "MLflow evaluation and assessments"),
}


def __getattr__(name: str) -> Any:
    """Loads optional parts on first use, keeping ``import lanterna`` light."""
    target = _LAZY.get(name)
    if target is None:
        if name in _NOT_PROVIDED:
            raise AttributeError(
                f"module 'lanterna' has no attribute {name!r}: {_NOT_PROVIDED[name]} are not "
                "part of lanterna, which covers MLflow's tracing API only (see \"Coming from "
                "MLflow\" in its README)."
            )
        raise AttributeError(f"module 'lanterna' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(target[0])
    value = module if target[1] is None else getattr(module, target[1])
    globals()[name] = value
    return value


_wiring.install()
