"""The ``lanterna`` logger, loaded on first use so ``import lanterna`` stays light."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _logger() -> Any:
    import logging

    return logging.getLogger("lanterna")


def warning(message: str, *args: Any) -> None:
    _logger().warning(message, *args)


def debug_enabled() -> bool:
    import logging

    return bool(_logger().isEnabledFor(logging.DEBUG))
