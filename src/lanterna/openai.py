"""``lanterna.openai.autolog()``: automatic tracing of the OpenAI client.

The counterpart of ``mlflow.openai``; the implementation lives in
``lanterna.integrations.openai``.
"""

from __future__ import annotations

from lanterna.integrations.openai import AutologHandle, autolog

__all__ = ["AutologHandle", "autolog"]
