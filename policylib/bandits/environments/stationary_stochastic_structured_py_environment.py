"""A stationary bandit with nested (structured) global and per-arm features.

Like the per-arm environment, but the global and the arm contexts may be any
nest of arrays (dicts of features of different shapes and dtypes, strings
included), and the reward function takes the two nests separately:

    env = StationaryStochasticStructuredPyEnvironment(
        lambda: np.random.randint(0, 10, [2]),
        lambda: {"f1": np.random.randint(-3, 4, [3]), "f2": np.zeros([4, 5])},
        num_actions=5,
        reward_fn=lambda global_obs, arm_obs: global_obs[0] + arm_obs["f1"][0],
    )
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.base import nest_utils
from policylib.base.lazy_tf import nest
from policylib.specs import array_spec, bandit_spec_utils
from policylib.typing import types

__all__ = ["StationaryStochasticStructuredPyEnvironment"]

GLOBAL_KEY = bandit_spec_utils.GLOBAL_FEATURE_KEY
PER_ARM_KEY = bandit_spec_utils.PER_ARM_FEATURE_KEY


def _spec_nest(example: types.NestedArray) -> types.NestedArraySpec:
    return nest.map_structure(
        lambda x: array_spec.ArraySpec.from_array(np.asarray(x)), example
    )


@gin.configurable
class StationaryStochasticStructuredPyEnvironment(
    bandit_py_environment.BanditPyEnvironment
):
    """A stationary bandit with nested global and per-arm features.

    The observation is `{"global": nest of [batch_size, ...],
    "per_arm": nest of [batch_size, num_actions, ...]}`. Structures, shapes
    and dtypes come from one call of each sampling function at construction.

    Args:
      global_context_sampling_fn: returns one global context nest.
      arm_context_sampling_fn: returns one arm's context nest.
      num_actions: arm contexts drawn per batch entry.
      reward_fn: `(global_context, arm_context) -> reward` for one batch entry
        and its chosen arm.
      batch_size: batch entries per step.
      name: the environment's name.

    Raises:
      ValueError: `num_actions` below 1.
    """

    def __init__(
        self,
        global_context_sampling_fn: Callable[[], types.NestedArray],
        arm_context_sampling_fn: Callable[[], types.NestedArray],
        num_actions: int,
        reward_fn: Callable[[types.NestedArray, types.NestedArray], Any],
        batch_size: int = 1,
        name: str | None = "stationary_stochastic_structured",
    ):
        if num_actions < 1:
            raise ValueError(f"num_actions must be >= 1; got {num_actions}.")
        self._global_context_sampling_fn = global_context_sampling_fn
        self._arm_context_sampling_fn = arm_context_sampling_fn
        self._num_actions = num_actions
        self._reward_fn = reward_fn
        self._batch_size = batch_size
        observation_spec = {
            GLOBAL_KEY: _spec_nest(global_context_sampling_fn()),
            PER_ARM_KEY: array_spec.add_outer_dims_nest(
                _spec_nest(arm_context_sampling_fn()), (num_actions,)
            ),
        }
        action_spec = array_spec.BoundedArraySpec(
            shape=(),
            dtype=np.int32,
            minimum=0,
            maximum=num_actions - 1,
            name="action",
        )
        self._observation: dict[str, Any] = {}
        super().__init__(observation_spec, action_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @staticmethod
    def _draw(sampling_fn: Callable[[], types.NestedArray], count: int) -> Any:
        """`count` draws of `sampling_fn`, stacked leaf by leaf."""
        draws = [nest.map_structure(np.asarray, sampling_fn()) for _ in range(count)]
        return nest_utils.stack_nested_arrays(draws)

    def _observe(self) -> types.NestedArray:
        batch, arms = self._batch_size, self._num_actions
        global_obs = self._draw(self._global_context_sampling_fn, batch)
        arm_obs = nest.map_structure(
            lambda x: x.reshape((batch, arms) + x.shape[1:]),
            self._draw(self._arm_context_sampling_fn, batch * arms),
        )
        self._observation = {GLOBAL_KEY: global_obs, PER_ARM_KEY: arm_obs}
        return self._observation

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, self._num_actions)
        rows = np.arange(self._batch_size)
        global_obs = self._observation[GLOBAL_KEY]
        chosen_arms = nest.map_structure(
            lambda x: x[rows, action], self._observation[PER_ARM_KEY]
        )
        return np.stack(
            [
                np.asarray(
                    self._reward_fn(
                        nest.map_structure(lambda x, b=b: x[b], global_obs),
                        nest.map_structure(lambda x, b=b: x[b], chosen_arms),
                    ),
                    dtype=np.float32,
                )
                for b in rows
            ]
        )
