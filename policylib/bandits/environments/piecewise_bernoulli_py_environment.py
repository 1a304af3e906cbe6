"""`PiecewiseBernoulliPyEnvironment`: Bernoulli arms whose means change at times.

The means of the arms are constant for a while (a piece), then jump to the
next row of `piece_means`, wrapping around after the last row. Piece lengths
come from a generator:

    def every_ten_steps():
        while True:
            yield 10

    env = PiecewiseBernoulliPyEnvironment(
        [[0.1, 0.5], [0.5, 0.1]], every_ten_steps()
    )  # Arm 1 is best for 10 steps, then arm 0 for 10 steps, and so on.

Piecewise-stationary bandits are studied e.g. in Wu, Iyer and Wang, "Learning
Contextual Bandits in a Non-stationary Environment" (CIKM 2017,
https://arxiv.org/abs/1805.09365).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec
from policylib.typing import types

__all__ = ["PiecewiseBernoulliPyEnvironment"]


@gin.configurable
class PiecewiseBernoulliPyEnvironment(bandit_py_environment.BanditPyEnvironment):
    """Piecewise-stationary, non-contextual Bernoulli bandit.

    The environment counts steps (one per `step`, whatever the batch size).
    With durations `d0, d1, ...` from the generator, `piece_means[0]` holds
    for steps `[0, d0)`, `piece_means[1]` for `[d0, d0 + d1)`, and so on. A
    zero duration skips its piece. The observation is a constant zero. A
    single action (shape `()` or `(1,)`) is played in every batch entry.

    Args:
      piece_means: `[num_pieces, num_arms]` probabilities in [0, 1].
      change_duration_generator: an iterator (e.g. a generator) of
        non-negative int durations, or a callable returning one per call. An
        iterator that runs out raises `StopIteration` when a new piece is due.
      batch_size: number of rounds played per step.

    Raises:
      ValueError: means outside [0, 1] or not a 2-D table, or a negative
        duration.
    """

    def __init__(
        self,
        piece_means: types.Array,
        change_duration_generator: Iterator[int] | Callable[[], int],
        batch_size: int = 1,
    ):
        means = np.asarray(piece_means, dtype=np.float32)
        if np.any(means > 1.0) or np.any(means < 0.0):
            raise ValueError(
                "All parameters should be floats in [0, 1]. Got piece_means "
                f"{piece_means!r}."
            )
        if means.ndim != 2 or means.size == 0:
            raise ValueError(
                "piece_means must be a non-empty [num_pieces, num_arms] table; got "
                f"shape {means.shape}."
            )
        self._piece_means = means
        self._num_pieces, self._num_actions = means.shape
        self._change_duration_generator = change_duration_generator
        self._batch_size = batch_size
        self._current_time = -1
        self._current_piece = -1
        self._next_change = 0
        self._increment_time()
        action_spec = array_spec.BoundedArraySpec(
            shape=(),
            dtype=np.int32,
            minimum=0,
            maximum=self._num_actions - 1,
            name="action",
        )
        observation_spec = array_spec.ArraySpec(
            shape=(1,), dtype=np.int32, name="observation"
        )
        super().__init__(observation_spec, action_spec)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _next_duration(self) -> int:
        source = self._change_duration_generator
        raw = next(source) if isinstance(source, Iterator) else source()
        duration = int(raw)
        if duration < 0:
            raise ValueError(
                f"Generated duration must be non-negative. Got {duration}."
            )
        return duration

    def _increment_time(self) -> None:
        """Advances the clock by one step, moving to later pieces as they start."""
        self._current_time += 1
        while self._current_time >= self._next_change:
            self._next_change += self._next_duration()
            self._current_piece = (self._current_piece + 1) % self._num_pieces

    def _observe(self) -> types.NestedArray:
        return np.zeros((self._batch_size, 1), dtype=np.int32)

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = np.asarray(action)
        try:
            action = np.broadcast_to(action, (self._batch_size,))
        except ValueError:
            raise ValueError(
                f"Number of actions must match batch size ({self._batch_size}); got "
                f"actions of shape {action.shape}."
            ) from None
        action = self._batched_actions(action, self._num_actions)
        means = self._piece_means[self._current_piece, action]
        reward = (np.random.random(self._batch_size) < means).astype(np.float32)
        self._increment_time()
        return reward
