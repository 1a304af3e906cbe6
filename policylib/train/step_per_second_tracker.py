"""`StepPerSecondTracker`: how fast a step counter advances, in wall-clock time."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["StepPerSecondTracker"]


class StepPerSecondTracker:
    """Measures steps per second of a counter since the last `restart`.

    Args:
      step: anything with `.numpy()` giving the current count (a `tf.Variable`).
    """

    def __init__(self, step: Any):
        self.step = step
        self.last_iteration = 0
        self.last_time = 0.0
        self.restart()

    def restart(self) -> None:
        """Starts a new measuring window at the counter's current value."""
        self.last_iteration = int(self.step.numpy())
        self.last_time = time.time()

    def steps_per_second(self) -> float:
        """Steps taken since `restart`, divided by the seconds elapsed since then."""
        elapsed = max(time.time() - self.last_time, 1e-9)
        return (int(self.step.numpy()) - self.last_iteration) / elapsed
