"""Trace and span ids from a generator of lanterna's own.

User code calling ``random.seed()`` must never make lanterna repeat ids (MLflow issue #18844), so
the generator is a private ``random.Random`` seeded from the OS, re-seeded in forked children.
"""

from __future__ import annotations

import os

# The C generator behind ``random.Random``: the same Mersenne Twister, without importing the
# ``random`` module (and its own imports) at ``import lanterna``.
from _random import Random

_rng = Random()


def _reseed() -> None:
    _rng.seed(int.from_bytes(os.urandom(32), "big"))


_reseed()

os.register_at_fork(after_in_child=_reseed)

_bits = _rng.getrandbits


def new_trace_id() -> str:
    return f"tr-{_bits(128) or 1:032x}"


def new_span_id() -> str:
    return f"{_bits(64) or 1:016x}"


def sample(ratio: float) -> bool:
    """True with probability ``ratio``."""
    return ratio >= 1.0 or _rng.random() < ratio
