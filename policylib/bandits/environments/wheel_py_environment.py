"""`WheelPyEnvironment`: the wheel bandit, a test of exploration.

Contexts are uniform in the unit disc and there are five arms. Inside the
disc of radius `delta`, arm 0 is best (`mu_base[0]`). Outside it, the arm of
the context's quadrant (1 for x>=0,y>=0; 2 for x>=0,y<0; 3 for x<0,y>=0;
4 for x<0,y<0) pays `mu_high`, more than anything else. The larger `delta`,
the rarer (and the harder to find) the outer reward.

Reference: Riquelme, Tucker and Snoek, "Deep Bayesian Bandits Showdown"
(ICLR 2018, https://arxiv.org/abs/1802.09127), Section 5.4.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec
from policylib.typing import types

__all__ = ["WheelPyEnvironment", "compute_optimal_action", "compute_optimal_reward"]

_NUM_ACTIONS = 5
_CONTEXT_DIM = 2


def _quadrant_actions(observation: np.ndarray) -> np.ndarray:
    """The outer arm (1 to 4) of each context's quadrant; zeros count as positive."""
    return (1 + 2 * (observation[:, 0] < 0) + (observation[:, 1] < 0)).astype(np.int32)


def _is_inside(observation: np.ndarray, delta: float) -> np.ndarray:
    return np.linalg.norm(observation, ord=2, axis=1) <= delta


@gin.configurable
def compute_optimal_action(observation: types.Array, delta: float) -> np.ndarray:
    """The best arm for each `[batch, 2]` context: 0 inside radius `delta`, else its quadrant's."""
    observation = np.asarray(observation)
    return np.where(
        _is_inside(observation, delta), 0, _quadrant_actions(observation)
    ).astype(np.int32)


@gin.configurable
def compute_optimal_reward(
    observation: types.Array, delta: float, mu_inside: float, mu_high: float
) -> np.ndarray:
    """The best arm's mean reward for each `[batch, 2]` context, as float32.

    Args:
      observation: `[batch, 2]` contexts.
      delta: the inner radius.
      mu_inside: the best mean inside the radius (`mu_base[0]`).
      mu_high: the best mean outside it.
    """
    observation = np.asarray(observation)
    return np.where(_is_inside(observation, delta), mu_inside, mu_high).astype(
        np.float32
    )


@gin.configurable
class WheelPyEnvironment(bandit_py_environment.BanditPyEnvironment):
    """The wheel bandit with Gaussian rewards.

    Every arm `a` pays `Normal(mu_base[a], std_base[a])`, except that outside
    radius `delta` the context's quadrant arm pays `Normal(mu_high, std_high)`.

    Args:
      delta: the inner radius, in (0, 1).
      mu_base: the five arms' mean rewards; arm 0's must be the largest.
      std_base: the five arms' reward standard deviations.
      mu_high: mean reward of the quadrant arm outside the inner disc.
      std_high: its standard deviation.
      batch_size: contexts per step (None means 1).
      name: the environment's name.

    Raises:
      ValueError: `delta` outside (0, 1), `mu_base` or `std_base` not of
        length 5, or `mu_base[0]` not the largest mean.
    """

    def __init__(
        self,
        delta: float,
        mu_base: Sequence[float],
        std_base: Sequence[float],
        mu_high: float,
        std_high: float,
        batch_size: int | None = None,
        name: str | None = "wheel",
    ):
        if not 0 < delta < 1:
            raise ValueError(f"Delta must be in (0, 1), but saw delta: {delta:g}")
        mu = np.asarray(mu_base, dtype=np.float32)
        if mu.shape != (_NUM_ACTIONS,):
            raise ValueError(
                f"The length of 'mu_base' must be {_NUM_ACTIONS}, but saw 'mu_base': "
                f"{mu}"
            )
        std = np.asarray(std_base, dtype=np.float32)
        if std.shape != (_NUM_ACTIONS,):
            raise ValueError(
                f"The length of 'std_base' must be {_NUM_ACTIONS}. Got shape "
                f"{std.shape}."
            )
        if mu[0] != mu.max():
            raise ValueError(
                f"The first action in mu_base should have the highest reward; got {mu}."
            )
        self._batch_size = 1 if batch_size is None else batch_size
        self._delta = delta
        self._mu_base = mu
        self._std_base = std
        self._mu_high = mu_high
        self._std_high = std_high
        action_spec = array_spec.BoundedArraySpec(
            shape=(),
            dtype=np.int32,
            minimum=0,
            maximum=_NUM_ACTIONS - 1,
            name="action",
        )
        observation_spec = array_spec.ArraySpec(
            shape=(_CONTEXT_DIM,), dtype=np.float32, name="observation"
        )
        self._observation = np.zeros((self._batch_size, _CONTEXT_DIM), np.float32)
        super().__init__(observation_spec, action_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _observe(self) -> types.NestedArray:
        # Uniform in the unit disc: uniform angle, radius sqrt(U).
        angle = np.random.uniform(0.0, 2.0 * np.pi, self._batch_size)
        radius = np.sqrt(np.random.uniform(size=self._batch_size))
        self._observation = np.stack(
            [radius * np.cos(angle), radius * np.sin(angle)], axis=1
        ).astype(np.float32)
        return self._observation

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, _NUM_ACTIONS)
        rows = np.arange(self._batch_size)
        rewards = np.random.normal(
            self._mu_base, self._std_base, size=(self._batch_size, _NUM_ACTIONS)
        )
        high = np.random.normal(self._mu_high, self._std_high, size=self._batch_size)
        outside = ~_is_inside(self._observation, self._delta)
        quadrant = _quadrant_actions(self._observation)
        rewards[rows[outside], quadrant[outside]] = high[outside]
        return rewards[rows, action].astype(np.float32)
