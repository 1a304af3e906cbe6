"""`BatchedObserverUnbatching`: a batched driver's trajectories, one per observer.

Some observers take one environment's trajectory at a time (Reverb's
episode writers: an episode is a sequence of one environment's steps). With
a batched environment, this observer splits each batched trajectory and hands
entry `i` to the `i`-th of `batch_size` observers, each made by the factory.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from policylib.base import nest_batching
from policylib.trajectories import trajectory as trajectory_lib

__all__ = ["BatchedObserverUnbatching"]

Observer = Callable[[trajectory_lib.Trajectory], object]


class BatchedObserverUnbatching:
    """Splits batched trajectories among `batch_size` observers.

    Args:
      create_delegated_observer_fn: makes one observer (called `batch_size`
        times, so each environment of the batch gets its own).
      batch_size: the batch size of the trajectories it will be given.

    Raises:
      ValueError: `batch_size` is below 1; (when called) a trajectory of
        another batch size.
    """

    def __init__(
        self, create_delegated_observer_fn: Callable[[], Observer], batch_size: int
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
        self._batch_size = batch_size
        self._delegated_observers = [
            create_delegated_observer_fn() for _ in range(batch_size)
        ]

    def __call__(self, batched_trajectory: trajectory_lib.Trajectory) -> None:
        got = np.shape(batched_trajectory.step_type)[:1]
        if got != (self._batch_size,):
            raise ValueError(
                f"BatchedObserverUnbatching: the trajectory's batch size is "
                f"{got[0] if got else 'none (unbatched)'}; expected {self._batch_size}."
            )
        entries = nest_batching.unstack_nested_arrays(batched_trajectory)
        for observer, entry in zip(self._delegated_observers, entries):
            observer(entry)
