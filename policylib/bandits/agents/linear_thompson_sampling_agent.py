"""`LinearThompsonSamplingAgent`: linear reward models explored by posterior sampling.

Agrawal & Goyal, "Thompson Sampling for Contextual Bandits with Linear
Payoffs", ICML 2013 (Algorithm 3 of the supplementary material). The models
are trained exactly as in `LinearBanditAgent`; the policy acts on rewards
drawn around the predictions with standard deviation `alpha * sqrt(x^T
(A + lambda I)^-1 x)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import gin
import tensorflow as tf

from policylib.bandits.agents import linear_bandit_agent as lin_agent
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["LinearThompsonSamplingAgent"]


@gin.configurable
class LinearThompsonSamplingAgent(lin_agent.LinearBanditAgent):
    """A `LinearBanditAgent` acting by linear Thompson sampling (no log probabilities).

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: a scalar int32/int64 `BoundedTensorSpec` with minimum 0.
      variable_collection: a `LinearBanditVariableCollection` to train (shared
        with other agents if given); a new one if None.
      alpha: scale of the sampling standard deviation.
      gamma: forgetting factor in [0, 1] (1: nothing is forgotten).
      use_eigendecomp: solve through eigen-decompositions of `A` instead of
        conjugate gradients.
      tikhonov_weight: the ridge weight `lambda`.
      add_bias: append a constant 1 feature to the global context.
      emit_policy_info: `InfoFields` names the policy emits.
      observation_and_action_constraint_splitter: `obs -> (context, mask)`.
      accepts_per_arm_features: per-arm observations and one shared model.
      debug_summaries: write debug summaries.
      summarize_grads_and_vars: write variable summaries.
      enable_summaries: False turns all summaries off.
      dtype: tf.float32 or tf.float64.
      name: the agent's name.
      train_step_counter: counts the training examples seen (the global step
        if None); not a TF-Agents argument.

    Raises:
      ValueError: `gamma` outside [0, 1], a bad `dtype`, or a
        `variable_collection` that does not fit.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        variable_collection: lin_agent.LinearBanditVariableCollection | None = None,
        alpha: types.Float = 1.0,
        gamma: float = 1.0,
        use_eigendecomp: bool = False,
        tikhonov_weight: float = 1.0,
        add_bias: bool = False,
        emit_policy_info: Sequence[str] = (),
        observation_and_action_constraint_splitter: types.Splitter = None,
        accepts_per_arm_features: bool = False,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        dtype: tf.DType = tf.float32,
        name: str | None = None,
        train_step_counter: tf.Variable | None = None,
    ):
        super().__init__(
            exploration_policy=lin_agent.ExplorationPolicy.linear_thompson_sampling_policy,
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            variable_collection=variable_collection,
            alpha=alpha,
            gamma=gamma,
            use_eigendecomp=use_eigendecomp,
            tikhonov_weight=tikhonov_weight,
            add_bias=add_bias,
            emit_policy_info=emit_policy_info,
            emit_log_probability=False,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            accepts_per_arm_features=accepts_per_arm_features,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            dtype=dtype,
            name=name,
            train_step_counter=train_step_counter,
        )
