"""`StationaryStochasticPyEnvironment`: contexts and per-arm rewards from functions.

Each step draws a batch of contexts with `context_sampling_fn`; the reward of
arm `a` for a context `x` is `reward_fns[a](x)` (possibly random, possibly a
vector). With `constraint_fns`, the reward is a dict with a `reward` and a
`constraint` entry.

    env = StationaryStochasticPyEnvironment(
        lambda: np.random.randint(0, 10, [1, 2]),  # batch of one 2-d context
        [lambda x: x[0], lambda x: x[1]],          # two arms
    )
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec, bandit_spec_utils
from policylib.typing import types

__all__ = ["StationaryStochasticPyEnvironment"]

RewardFn = Callable[[np.ndarray], Any]


@gin.configurable
class StationaryStochasticPyEnvironment(bandit_py_environment.BanditPyEnvironment):
    """A stationary contextual bandit defined by sampling and reward functions.

    The specs come from one call of each function at construction: the
    context spec from the first row of `context_sampling_fn()`, the reward
    (and constraint) spec, float32, from `reward_fns[0]` (and
    `constraint_fns[0]`) of that context.

    Args:
      context_sampling_fn: returns a `[batch_size, ...]` array (or nested list)
        of contexts.
      reward_fns: one function per arm mapping a context to its (scalar or
        vector) reward.
      constraint_fns: optional, one function per arm mapping a context to its
        constraint value(s).
      batch_size: the outer dim `context_sampling_fn` returns.
      name: the environment's name.

    Raises:
      ValueError: no reward functions, a number of constraint functions other
        than of arms, or contexts whose outer dim is not `batch_size`.
    """

    def __init__(
        self,
        context_sampling_fn: Callable[[], types.Array],
        reward_fns: Sequence[RewardFn],
        constraint_fns: Sequence[RewardFn] | None = None,
        batch_size: int = 1,
        name: str | None = "stationary_stochastic",
    ):
        if not reward_fns:
            raise ValueError("reward_fns must hold one reward function per arm.")
        if constraint_fns is not None and len(constraint_fns) != len(reward_fns):
            raise ValueError(
                f"constraint_fns must have one function per arm ({len(reward_fns)}); "
                f"got {len(constraint_fns)}."
            )
        self._context_sampling_fn = context_sampling_fn
        self._reward_fns = reward_fns
        self._constraint_fns = constraint_fns
        self._num_actions = len(reward_fns)
        self._batch_size = batch_size

        example = np.asarray(context_sampling_fn())
        if example.ndim == 0 or example.shape[0] != batch_size:
            raise ValueError(
                "The outer dimension of the observations should match the batch size "
                f"({batch_size}); context_sampling_fn returned shape {example.shape}."
            )
        observation_spec = array_spec.ArraySpec.from_array(example[0])
        example_reward = np.asarray(reward_fns[0](example[0]))
        reward_spec: Any = array_spec.ArraySpec(
            example_reward.shape, np.float32, name="reward"
        )
        if constraint_fns is not None:
            example_constraint = np.asarray(constraint_fns[0](example[0]))
            reward_spec = {
                bandit_spec_utils.REWARD_SPEC_KEY: reward_spec,
                bandit_spec_utils.CONSTRAINTS_SPEC_KEY: array_spec.ArraySpec(
                    example_constraint.shape, np.float32, name="constraint"
                ),
            }
        action_spec = array_spec.BoundedArraySpec(
            shape=(),
            dtype=np.int32,
            minimum=0,
            maximum=self._num_actions - 1,
            name="action",
        )
        self._observation = example
        super().__init__(observation_spec, action_spec, reward_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _observe(self) -> types.NestedArray:
        self._observation = np.asarray(self._context_sampling_fn())
        return self._observation

    def _per_arm(self, fns: Sequence[RewardFn], action: np.ndarray) -> np.ndarray:
        """`fns[action[b]](context[b])` for every batch entry, stacked, float32."""
        return np.stack(
            [
                np.asarray(fns[a](context), dtype=np.float32)
                for a, context in zip(action, self._observation)
            ]
        )

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, self._num_actions)
        reward = self._per_arm(self._reward_fns, action)
        if self._constraint_fns is None:
            return reward
        return {
            bandit_spec_utils.REWARD_SPEC_KEY: reward,
            bandit_spec_utils.CONSTRAINTS_SPEC_KEY: self._per_arm(
                self._constraint_fns, action
            ),
        }
