"""`GreedyPolicy`: the mode of a wrapped policy's action distribution.

`action()` returns `wrapped.distribution(...).mode()` and `distribution()` a
deterministic distribution at that mode, which turns a stochastic policy
(Q-policy, actor) into its greedy evaluation counterpart.
"""

from __future__ import annotations

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions.type_spec_names import register_under_tf_agents_name
from policylib.policies import policy_specs, tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["DeterministicWithLogProb", "GreedyPolicy"]


@tfp.experimental.auto_composite_tensor
class DeterministicWithLogProb(tfp.distributions.Deterministic):
    """A `Deterministic` whose `log_prob` is 0 at its location and -inf elsewhere.

    `Deterministic.prob` returns the sample dtype for integer locations; this
    casts it to float32 first so that `log_prob` is defined for any dtype.
    """

    def _log_prob(self, x: tf.Tensor) -> tf.Tensor:
        return tf.math.log(tf.cast(self.prob(x), tf.float32))


@gin.configurable(module="policylib", denylist=["policy"])
class GreedyPolicy(tf_policy.TFPolicy):
    """Acts with the mode of `policy`'s distributions.

    Args:
      policy: the `TFPolicy` to make greedy; it must implement `distribution()`
        with distributions that have a `mode()`.
      name: module name.
    """

    def __init__(self, policy: tf_policy.TFPolicy, name: str | None = None):
        super().__init__(
            **policy_specs.wrapped_specs(policy),
            emit_log_probability=policy.emit_log_probability,
            name=name,
        )
        self._wrapped_policy = policy

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._wrapped_policy

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        def _deterministic_mode(
            dist: tfp.distributions.Distribution,
        ) -> tfp.distributions.Deterministic:
            try:
                mode = dist.mode()
            except NotImplementedError as e:
                raise ValueError(
                    f"GreedyPolicy needs distributions with a mode(); {dist} has none."
                ) from e
            return tfp.distributions.Deterministic(loc=mode)

        step = self._wrapped_policy.distribution(time_step, policy_state)
        return step._replace(
            action=tf.nest.map_structure(_deterministic_mode, step.action)
        )


# Saved distributions cross to and from TF-Agents under its type-spec names.
register_under_tf_agents_name(
    DeterministicWithLogProb, "tf_agents.policies.greedy_policy"
)
