"""Blocking Reverb calls made from TensorFlow's threads end before the interpreter does.

A dataset samples inside `tf.numpy_function`, on a tf.data thread. If such a
call still waits (for a rate limiter, or for a server to answer) when Python
finalizes, the waiting thread can never take the interpreter lock back, and
the main thread, destroying the dataset's iterator, waits for that thread
forever: the process hangs at exit. So every such call runs inside
`guarded()`, waits in short slices that check `is_set()`, and at exit
`_drain` sets the flag and waits (bounded) until no guarded call is left and
none has run for `_QUIET_S`: a pipeline that just saw its stream end (e.g.
under `repeat()`) makes one or two more quick calls before it ends, and a
call that starts once Python is finalizing hangs the same way.
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
# How long no guarded call must have run before the exit handler returns.
_QUIET_S = 0.5

_exiting = threading.Event()
_in_flight = 0
_last_call_end = float("-inf")
_idle = threading.Condition()


def is_set() -> bool:
    """Whether the interpreter is exiting (the exit handler has run)."""
    return _exiting.is_set()


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Counts the enclosed call as in flight until it returns or raises."""
    global _in_flight, _last_call_end
    with _idle:
        _in_flight += 1
    try:
        yield
    finally:
        with _idle:
            _in_flight -= 1
            _last_call_end = time.monotonic()
            _idle.notify_all()


@atexit.register
def _drain() -> None:
    _exiting.set()
    deadline = time.monotonic() + _DRAIN_S
    with _idle:
        while time.monotonic() < deadline:
            quiet_for = time.monotonic() - _last_call_end
            if not _in_flight and quiet_for >= _QUIET_S:
                return
            _idle.wait(SLICE_S if _in_flight else _QUIET_S - quiet_for)
