"""OpenAI auto-tracing: ``lanterna.openai.autolog()`` (MLflow's ``mlflow.openai.autolog``).

Importing this package does not import ``openai``; ``autolog()`` does, and names the extra to
install when it is missing.
"""

from __future__ import annotations

from lanterna.integrations.openai.autolog import AutologHandle, autolog

__all__ = ["AutologHandle", "autolog"]
