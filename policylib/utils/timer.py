"""`Timer`: the wall time spent inside blocks of code, summed over uses."""

from __future__ import annotations

import time
from types import TracebackType

__all__ = ["Timer"]


class Timer:
    """Sums the wall time between `start` and `stop` (or inside `with timer:`).

    Uses `time.perf_counter`, a monotonic clock, so a system clock change
    never makes a block negative.
    """

    def __init__(self) -> None:
        self._accumulator = 0.0
        self._last: float | None = None

    def __enter__(self) -> Timer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Starts (or restarts) timing a block."""
        self._last = time.perf_counter()

    def stop(self) -> None:
        """Adds the time since `start` to the total.

        Raises:
          RuntimeError: `start` was not called since the last `stop`.
        """
        if self._last is None:
            raise RuntimeError("Timer.stop() called without a running start().")
        self._accumulator += time.perf_counter() - self._last
        self._last = None

    def value(self) -> float:
        """The seconds summed so far (a running block is not counted)."""
        return self._accumulator

    def reset(self) -> None:
        """Sets the total back to zero."""
        self._accumulator = 0.0
