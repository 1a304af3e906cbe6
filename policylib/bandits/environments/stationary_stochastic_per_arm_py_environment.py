"""A stationary bandit with a global context and a feature vector per arm.

Each step draws, per batch entry, one global context and `max_num_actions`
arm contexts. The reward of arm `a` is `reward_fn(concat(global, arm_a))`.
With `num_actions_fn`, each batch entry also gets a `num_actions` feature
(the number of arms on offer, between 1 and `max_num_actions`).

    env = StationaryStochasticPerArmPyEnvironment(
        lambda: np.random.randint(0, 10, [2]),   # global context
        lambda: np.random.randint(-3, 4, [3]),   # one arm's context
        max_num_actions=5,
        reward_fn=lambda x: float(np.sum(x)),    # x: the 5 concatenated values
    )
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec, bandit_spec_utils
from policylib.typing import types

__all__ = ["StationaryStochasticPerArmPyEnvironment"]

GLOBAL_KEY = bandit_spec_utils.GLOBAL_FEATURE_KEY
PER_ARM_KEY = bandit_spec_utils.PER_ARM_FEATURE_KEY
NUM_ACTIONS_KEY = bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY


@gin.configurable
class StationaryStochasticPerArmPyEnvironment(
    bandit_py_environment.BanditPyEnvironment
):
    """A stationary bandit whose observations have global and per-arm features.

    The observation is a dict: `global` (`[batch_size, *global_shape]`),
    `per_arm` (`[batch_size, max_num_actions, *arm_shape]`) and, with
    `num_actions_fn`, `num_actions` (`[batch_size]`). Shapes and dtypes come
    from one call of each sampling function at construction.

    Args:
      global_context_sampling_fn: returns one global context (an array of a
        fixed shape and dtype).
      arm_context_sampling_fn: returns one arm's context.
      max_num_actions: arm contexts drawn per batch entry; the action spec is
        `[0, max_num_actions - 1]`.
      reward_fn: maps the concatenation of the (flattened) global and chosen
        arm contexts to a (possibly random) reward.
      num_actions_fn: optional; returns the number of arms on offer for one
        batch entry, clipped to `[1, max_num_actions]`.
      batch_size: batch entries per step.
      name: the environment's name.

    Raises:
      ValueError: `max_num_actions` below 1.
    """

    def __init__(
        self,
        global_context_sampling_fn: Callable[[], types.Array],
        arm_context_sampling_fn: Callable[[], types.Array],
        max_num_actions: int,
        reward_fn: Callable[[types.Array], Any],
        num_actions_fn: Callable[[], int] | None = None,
        batch_size: int = 1,
        name: str | None = "stationary_stochastic_per_arm",
    ):
        if max_num_actions < 1:
            raise ValueError(f"max_num_actions must be >= 1; got {max_num_actions}.")
        self._global_context_sampling_fn = global_context_sampling_fn
        self._arm_context_sampling_fn = arm_context_sampling_fn
        self._max_num_actions = max_num_actions
        self._reward_fn = reward_fn
        self._num_actions_fn = num_actions_fn
        self._batch_size = batch_size

        global_spec = array_spec.ArraySpec.from_array(
            np.asarray(global_context_sampling_fn())
        )
        arm_spec = array_spec.ArraySpec.from_array(
            np.asarray(arm_context_sampling_fn())
        )
        observation_spec: dict[str, Any] = {
            GLOBAL_KEY: global_spec,
            PER_ARM_KEY: array_spec.add_outer_dims_nest(arm_spec, (max_num_actions,)),
        }
        if num_actions_fn is not None:
            observation_spec[NUM_ACTIONS_KEY] = array_spec.BoundedArraySpec(
                shape=(),
                dtype=np.asarray(num_actions_fn()).dtype,
                minimum=1,
                maximum=max_num_actions,
                name=NUM_ACTIONS_KEY,
            )
        action_spec = array_spec.BoundedArraySpec(
            shape=(),
            dtype=np.int32,
            minimum=0,
            maximum=max_num_actions - 1,
            name="action",
        )
        self._observation: dict[str, np.ndarray] = {}
        super().__init__(observation_spec, action_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _observe(self) -> types.NestedArray:
        spec = cast(dict[str, Any], self.observation_spec())
        batch, arms = self._batch_size, self._max_num_actions
        global_obs = np.stack(
            [np.asarray(self._global_context_sampling_fn()) for _ in range(batch)]
        )
        arm_obs = np.stack(
            [np.asarray(self._arm_context_sampling_fn()) for _ in range(batch * arms)]
        )
        observation = {
            GLOBAL_KEY: global_obs.astype(spec[GLOBAL_KEY].dtype),
            PER_ARM_KEY: arm_obs.reshape((batch, arms) + arm_obs.shape[1:]).astype(
                spec[PER_ARM_KEY].dtype
            ),
        }
        if self._num_actions_fn is not None:
            num_actions = np.array([self._num_actions_fn() for _ in range(batch)])
            observation[NUM_ACTIONS_KEY] = np.clip(num_actions, 1, arms).astype(
                spec[NUM_ACTIONS_KEY].dtype
            )
        self._observation = observation
        return observation

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, self._max_num_actions)
        rows = np.arange(self._batch_size)
        global_obs = self._observation[GLOBAL_KEY]
        chosen_arms = self._observation[PER_ARM_KEY][rows, action]
        return np.stack(
            [
                np.asarray(
                    self._reward_fn(
                        np.concatenate(
                            [np.ravel(global_obs[b]), np.ravel(chosen_arms[b])]
                        )
                    ),
                    dtype=np.float32,
                )
                for b in rows
            ]
        )
