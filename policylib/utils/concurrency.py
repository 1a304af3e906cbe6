"""Guards for Python state that TF ops reach from more than one thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = [
    "exclusive",
]


@contextlib.contextmanager
def exclusive(lock: threading.Lock, message: str) -> Iterator[None]:
    """Holds `lock`, raising RuntimeError(`message`) instead of waiting for it.

    For Python state reached from TF ops (`tf.numpy_function`), where two ops
    running at once means the caller's graph is missing a dependency.
    """
    if not lock.acquire(blocking=False):
        raise RuntimeError(message)
    try:
        yield
    finally:
        lock.release()
