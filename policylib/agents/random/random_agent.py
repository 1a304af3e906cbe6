"""`RandomAgent`: uniformly random actions and no learning (a baseline)."""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.agents.random import fixed_policy_agent
from policylib.policies import random_tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["RandomAgent"]


@gin.configurable
class RandomAgent(fixed_policy_agent.FixedPolicyAgent):
    """A `FixedPolicyAgent` with a `RandomTFPolicy`.

    Args: see `FixedPolicyAgent` (experience is `[B]`: `num_outer_dims=1`).
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        num_outer_dims: int = 1,
        name: str | None = None,
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            policy_class=random_tf_policy.RandomTFPolicy,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            num_outer_dims=num_outer_dims,
            name=name,
        )
