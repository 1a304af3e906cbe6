"""Blocking Reverb calls made from TensorFlow's threads end before the interpreter does.

A dataset samples inside `tf.numpy_function`, on a tf.data thread. If such a
call still waits (for a rate limiter, or for a server to answer) when Python
finalizes, the waiting thread can never take the interpreter lock back, and
the main thread, destroying the dataset's iterator, waits for that thread
forever: the process hangs at exit. So every such call runs inside
`guarded()`, waits in short slices that check `is_set()`, and at exit
`_drain` sets the flag and waits (bounded) until no guarded call is left.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import time
from collections.abc import Iterator

# How long the exit handler waits for guarded calls; each notices the flag
# within one wait slice.
_DRAIN_S = 5.0
# The longest single wait a guarded call makes before looking at the flag again.
SLICE_S = 0.25

_exiting = threading.Event()
_in_flight = 0
_idle = threading.Condition()


def is_set() -> bool:
    """Whether the interpreter is exiting (the exit handler has run)."""
    return _exiting.is_set()


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Counts the enclosed call as in flight until it returns or raises."""
    global _in_flight
    with _idle:
        _in_flight += 1
    try:
        yield
    finally:
        with _idle:
            _in_flight -= 1
            _idle.notify_all()


@atexit.register
def _drain() -> None:
    _exiting.set()
    deadline = time.monotonic() + _DRAIN_S
    with _idle:
        while _in_flight and time.monotonic() < deadline:
            _idle.wait(SLICE_S)
