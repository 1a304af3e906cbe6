"""`FixedPolicyAgent`: an agent whose policy never changes (a baseline)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.policies import tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["FixedPolicyAgent"]


@gin.configurable
class FixedPolicyAgent(tf_agent.TFAgent):
    """Acts with `policy_class(time_step_spec, action_spec)`; `train` only counts steps.

    Args:
      time_step_spec: `TimeStep` of specs.
      action_spec: nest of action specs.
      policy_class: builds the policy (used to act and to collect).
      debug_summaries, summarize_grads_and_vars, train_step_counter, num_outer_dims: see
        `TFAgent`.
      name: the agent's name scope.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        policy_class: Callable[..., tf_policy.TFPolicy],
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        num_outer_dims: int = 2,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        policy = policy_class(time_step_spec=time_step_spec, action_spec=action_spec)
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            policy,
            train_sequence_length=None,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            num_outer_dims=num_outer_dims,
        )

    def _train(self, experience: Any, weights: Any = None) -> tf_agent.LossInfo:
        """Learns nothing: counts the step; the loss is 0."""
        del experience, weights
        self.train_step_counter.assign_add(1)
        return tf_agent.LossInfo(0.0, None)

    def _loss(
        self, experience: Any, weights: Any = None, training: bool = False
    ) -> tf_agent.LossInfo:
        del experience, weights, training
        return tf_agent.LossInfo(0.0, None)
