"""A stand-in for ``databricks.sdk``, just enough for the seed's advanced example.

``WorkspaceClient().serving_endpoints.get_open_ai_client()`` returns a real ``openai.OpenAI``
pointed at the local fake server named by ``LANTERNA_FAKE_OPENAI_URL``.
"""

from __future__ import annotations

import os
from typing import Any

import openai


class ServingEndpoints:
    def get_open_ai_client(self) -> openai.OpenAI:
        return openai.OpenAI(base_url=os.environ["LANTERNA_FAKE_OPENAI_URL"], api_key="x")


class WorkspaceClient:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.serving_endpoints = ServingEndpoints()
