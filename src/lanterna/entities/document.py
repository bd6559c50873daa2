"""Retrieved documents: what RETRIEVER spans output."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Document:
    page_content: str
    metadata: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            page_content=data.get("page_content", ""),
            metadata=dict(data.get("metadata") or {}),
            id=data.get("id"),
        )
