"""Epsilon-greedy over Python policies, with an optional linear epsilon decay.

With probability epsilon the random policy acts, otherwise the greedy one.
Epsilon may decay linearly from its initial value to
`epsilon_decay_end_value` over the first `epsilon_decay_end_count` calls.
"""

from __future__ import annotations

from typing import Any

import gin
import numpy as np

from policylib.policies import policy_specs, py_policy, random_py_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["EpsilonGreedyPolicy"]


@gin.configurable
class EpsilonGreedyPolicy(py_policy.PyPolicy):
    """Acts randomly with probability epsilon, greedily otherwise.

    Args:
      greedy_policy: the `PyPolicy` to follow when not exploring.
      epsilon: probability of a random action, in [0, 1].
      random_policy: policy used to explore; a `RandomPyPolicy` over the
        greedy policy's specs by default.
      epsilon_decay_end_count: if set, epsilon decays linearly to
        `epsilon_decay_end_value` over this many `action` calls, then stays.
      epsilon_decay_end_value: the final epsilon (required with the count).
      random_seed: seed of the exploration coin flips.
    """

    def __init__(
        self,
        greedy_policy: py_policy.PyPolicy,
        epsilon: float,
        random_policy: py_policy.PyPolicy | None = None,
        epsilon_decay_end_count: int | None = None,
        epsilon_decay_end_value: float | None = None,
        random_seed: types.Seed = None,
    ):
        _check_probability("epsilon", epsilon)
        if epsilon_decay_end_count is not None:
            if epsilon_decay_end_value is None:
                raise ValueError(
                    "epsilon_decay_end_value must be given together with "
                    f"epsilon_decay_end_count={epsilon_decay_end_count}."
                )
            _check_probability("epsilon_decay_end_value", epsilon_decay_end_value)
            if epsilon_decay_end_count <= 0:
                raise ValueError(
                    f"epsilon_decay_end_count must be positive, got {epsilon_decay_end_count}."
                )
        self._greedy_policy = greedy_policy
        if random_policy is None:
            random_policy = random_py_policy.RandomPyPolicy(
                time_step_spec=greedy_policy.time_step_spec,
                action_spec=greedy_policy.action_spec,
                seed=random_seed,
            )
        self._random_policy = random_policy
        self._epsilon = float(epsilon)
        self._epsilon_decay_end_count = epsilon_decay_end_count
        self._epsilon_decay_end_value = epsilon_decay_end_value
        self._count = 0
        self._rng = np.random.RandomState(random_seed)
        super().__init__(**policy_specs.wrapped_specs(greedy_policy))

    @property
    def epsilon(self) -> float:
        """The exploration probability for the next call."""
        if (
            self._epsilon_decay_end_count is None
            or self._epsilon_decay_end_value is None
        ):
            return self._epsilon
        progress = min(self._count / self._epsilon_decay_end_count, 1.0)
        return (
            self._epsilon + (self._epsilon_decay_end_value - self._epsilon) * progress
        )

    def _get_initial_state(self, batch_size: int | None) -> Any:
        self._random_policy.get_initial_state(batch_size=batch_size)
        return self._greedy_policy.get_initial_state(batch_size=batch_size)

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray = (),
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        del seed  # Exploration uses the policy's own seeded generator.
        epsilon = self.epsilon
        self._count += 1
        if self._rng.rand() < epsilon:
            return self._random_policy.action(time_step)
        return self._greedy_policy.action(time_step, policy_state=policy_state)


def _check_probability(name: str, value: float) -> None:
    if isinstance(value, (bool, str, bytes)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}.")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}.")
