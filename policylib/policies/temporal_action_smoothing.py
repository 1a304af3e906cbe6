"""`TemporalActionSmoothing`: an exponential moving average of a policy's actions."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.policies import tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["TemporalActionSmoothing"]


class TemporalActionSmoothing(tf_policy.TFPolicy):
    """`a_t = c * a_{t-1} + (1 - c) * wrapped_action_t`, reset at episode starts.

    The state is `(wrapped policy state, previous smoothed action)`.

    Args:
      policy: the policy to smooth (continuous actions).
      smoothing_coefficient: `c` in [0, 1]; 0 leaves actions unchanged.
      name: module name.
    """

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        smoothing_coefficient: float,
        name: str | None = None,
    ):
        super().__init__(
            policy.time_step_spec,
            policy.action_spec,
            (policy.policy_state_spec, policy.action_spec),
            policy.info_spec,
            name=name,
        )
        self._wrapped_policy = policy
        self._smoothing_coefficient = smoothing_coefficient

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._wrapped_policy

    def _get_initial_state(self, batch_size: types.Int | None) -> types.NestedTensor:
        wrapped_state = self._wrapped_policy.get_initial_state(batch_size)
        own_state: Any = super()._get_initial_state(batch_size)
        return (wrapped_state, own_state[1])

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        raise NotImplementedError(
            "TemporalActionSmoothing does not implement distribution()."
        )

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        wrapped_state, previous = policy_state
        step = self._wrapped_policy.action(time_step, wrapped_state, seed)
        c = self._smoothing_coefficient
        smoothed = tf.nest.map_structure(
            lambda prev, action: prev * c + action * (1.0 - c), previous, step.action
        )
        return policy_step.PolicyStep(smoothed, (step.state, smoothed), step.info)
