"""Retrieved documents: what RETRIEVER spans output."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Document:
    """A retrieved chunk: its text, metadata such as ``doc_uri``, and an optional id."""

    __slots__ = ("page_content", "metadata", "id")

    def __init__(
        self, page_content: str, metadata: dict[str, Any] | None = None, id: str | None = None
    ) -> None:
        self.page_content = page_content
        self.metadata = {} if metadata is None else metadata
        self.id = id

    def to_dict(self) -> dict[str, Any]:
        return {"page_content": self.page_content, "metadata": self.metadata, "id": self.id}

    __lanterna_snapshot__ = to_dict

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        return cls(
            page_content=data.get("page_content", ""),
            metadata=dict(data.get("metadata") or {}),
            id=data.get("id"),
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Document(page_content={self.page_content!r}, metadata={self.metadata!r}, "
                f"id={self.id!r})")
