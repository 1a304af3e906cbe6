"""`BernoulliPyEnvironment`: a multi-armed bandit with 0/1 rewards.

Arm `i` pays 1 with probability `means[i]` and 0 otherwise; there is no
context (every observation is 1). See e.g. Example 1.1 of Russo et al.,
"A Tutorial on Thompson Sampling" (https://web.stanford.edu/~bvr/pubs/TS_Tutorial.pdf).
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec
from policylib.typing import types

__all__ = ["BernoulliPyEnvironment"]


@gin.configurable
class BernoulliPyEnvironment(bandit_py_environment.BanditPyEnvironment):
    """A non-contextual bandit whose arms pay Bernoulli rewards.

    Args:
      means: the probability in [0, 1] that each arm pays 1; its length is the
        number of arms.
      batch_size: number of rounds played per step.

    Raises:
      ValueError: a mean outside [0, 1], or no arms.
    """

    def __init__(self, means: Sequence[types.Float], batch_size: int = 1):
        means_array = np.asarray(means, dtype=np.float64)
        if means_array.ndim != 1 or means_array.size == 0:
            raise ValueError(
                f"means must be a non-empty vector of probabilities; got {means!r}."
            )
        if np.any(means_array < 0) or np.any(means_array > 1):
            raise ValueError(
                f"All parameters should be floats in [0, 1]. Got means {means!r}."
            )
        self._means = means_array
        self._num_actions = means_array.size
        self._batch_size = batch_size
        action_spec = array_spec.BoundedArraySpec(
            shape=(),
            dtype=np.int32,
            minimum=0,
            maximum=self._num_actions - 1,
            name="action",
        )
        observation_spec = array_spec.ArraySpec(
            shape=(), dtype=np.float32, name="observation"
        )
        super().__init__(observation_spec, action_spec)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _observe(self) -> types.NestedArray:
        return np.ones((self._batch_size,), dtype=np.float32)

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, self._num_actions)
        draws = np.random.random(self._batch_size)
        return (draws < self._means[action]).astype(np.float32)
