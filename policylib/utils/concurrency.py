"""Guards for Python state that TF ops reach from more than one thread."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

__all__ = [
    "exclusive",
]


@contextlib.contextmanager
def exclusive(lock: threading.Lock, message: str, wait: bool = False) -> Iterator[None]:
    """Holds `lock`, raising RuntimeError(`message`) instead of waiting for it.

    For Python state reached from TF ops (`tf.numpy_function`), where two ops
    of one graph running at once means the graph is missing a dependency.
    With `wait`, waits for the lock instead: for eager calls, where each call
    is whole and callers on other threads just take turns.
    """
    if not lock.acquire(blocking=wait):
        raise RuntimeError(message)
    try:
        yield
    finally:
        lock.release()
