"""`BoltzmannPolicy`: divides a wrapped policy's logits by a temperature."""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.policies import policy_specs, tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["BoltzmannPolicy"]


@gin.configurable
class BoltzmannPolicy(tf_policy.TFPolicy):
    """Samples from `softmax(logits / temperature)` of the wrapped policy.

    Args:
      policy: a policy whose distributions have `logits` (e.g. `QPolicy`).
      temperature: a float, tensor, `tf.Variable` or zero-argument callable
        (read at every call); None leaves the distributions unchanged.
      name: module name.
    """

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        temperature: types.FloatOrReturningFloat = 1.0,
        name: str | None = None,
    ):
        super().__init__(
            **policy_specs.wrapped_specs(policy),
            emit_log_probability=policy.emit_log_probability,
            clip=False,
            name=name,
        )
        self._temperature = temperature
        self._wrapped_policy = policy

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._wrapped_policy

    def _temperature_value(self) -> Any:
        return self._temperature() if callable(self._temperature) else self._temperature

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        step = self._wrapped_policy.distribution(time_step, policy_state)
        if self._temperature is None:
            return step
        temperature = self._temperature_value()
        return step._replace(
            action=tf.nest.map_structure(
                lambda dist: dist.copy(logits=dist.logits / temperature), step.action
            )
        )
