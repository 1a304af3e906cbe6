"""Item keys and episode ids, unique across processes with high probability."""

from __future__ import annotations

import itertools
import random
import threading

__all__ = ["new_key"]

# A random base per process plus a counter, so that clients in different
# processes do not collide (Reverb draws random 64-bit keys).
_BASE = random.SystemRandom().getrandbits(48) << 14
_COUNTER = itertools.count(1)
_LOCK = threading.Lock()


def new_key() -> int:
    """A fresh non-negative 63-bit key."""
    with _LOCK:
        return (_BASE + next(_COUNTER)) & ((1 << 63) - 1)
