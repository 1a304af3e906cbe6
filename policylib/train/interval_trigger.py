"""`IntervalTrigger`: call a function once at least `interval` steps have passed."""

from __future__ import annotations

import logging
from collections.abc import Callable

__all__ = ["IntervalTrigger"]

_log = logging.getLogger(__name__)


class IntervalTrigger:
    """Calls `fn()` when the value it is given has moved `interval` past the last firing.

    The value at a firing need not be a multiple of `interval`: a trigger called
    with 0, 7, 12 and interval 5 fires at 7 and 12 (not at 0, the start).

    Args:
      interval: the least distance between firings; 0 or less never fires.
      fn: what to call, with no arguments.
      start: the value counted as the last firing at first (and after `reset`).
    """

    def __init__(self, interval: int, fn: Callable[[], None], start: int = 0):
        self._interval = int(interval)
        self._fn = fn
        self._start = int(start)
        self._last_trigger_value = int(start)
        if self._interval <= 0:
            _log.info("IntervalTrigger(interval=%d) will never fire.", self._interval)

    @property
    def interval(self) -> int:
        return self._interval

    def __call__(self, value: int, force_trigger: bool = False) -> None:
        """Fires if `value` is `interval` past the last firing, or if forced.

        Args:
          value: the current count (a train step, say).
          force_trigger: fire now unless the last firing was at this very value.
        """
        if self._interval <= 0:
            return
        value = int(value)
        due = value >= self._last_trigger_value + self._interval
        forced = force_trigger and value != self._last_trigger_value
        if due or forced:
            self._last_trigger_value = value
            self._fn()

    def reset(self) -> None:
        """Forgets every firing: the next is counted from the original `start`."""
        self._last_trigger_value = self._start

    def set_start(self, start: int) -> None:
        """Counts `start` as the last firing (a learner does this after restoring)."""
        self._last_trigger_value = int(start)
