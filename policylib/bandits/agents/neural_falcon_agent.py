"""`NeuralFalconAgent`: a reward network with FALCON's arm sampling.

The agent trains its reward network as `GreedyRewardPredictionAgent` does;
its policy samples arms from the distribution of FALCON (D. Simchi-Levi and
Y. Xu, "Bypassing the Monster: A Faster and Simpler Optimal Algorithm for
Contextual Bandits under Realizability", Mathematics of Operations Research,
2021): arms whose predicted reward is far below the best one get less
probability, and the more data the agent has seen (`num_samples_list`), the
greedier it becomes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import gin
import tensorflow as tf

from policylib.bandits.agents import greedy_reward_prediction_agent
from policylib.bandits.policies import constraints as constr
from policylib.bandits.policies import falcon_reward_prediction_policy
from policylib.policies import tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["NeuralFalconAgent"]


@gin.configurable
class NeuralFalconAgent(greedy_reward_prediction_agent.GreedyRewardPredictionAgent):
    """A reward-prediction agent whose policy samples arms as FALCON does.

    Arguments not listed here are `GreedyRewardPredictionAgent`'s.

    Args:
      num_samples_list: int `tf.Variable`s counting the training samples,
        one per arm (one in total with per-arm features); updated by `train`,
        read by the policy.
      exploitation_coefficient: how greedy the policy is for a given amount
        of data (floored at 0 by the policy): a float or a callable returning
        one.
      max_exploration_probability_hint: if set, a target bound (clipped to
        [0, 1]) on the probability of playing a non-greedy arm; it replaces
        `exploitation_coefficient`, and is met on a best-effort basis when
        there is too little data.

    Raises:
      ValueError: as `GreedyRewardPredictionAgent`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        reward_network: types.Network,
        optimizer: types.Optimizer | None,
        num_samples_list: Sequence[tf.Variable],
        exploitation_coefficient: types.FloatOrReturningFloat = 1.0,
        max_exploration_probability_hint: types.FloatOrReturningFloat | None = None,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        accepts_per_arm_features: bool = False,
        constraints: Iterable[constr.BaseConstraint] = (),
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        gradient_clipping: float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        emit_policy_info: tuple[str, ...] = (),
        train_step_counter: tf.Variable | None = None,
        laplacian_matrix: types.Float | None = None,
        laplacian_smoothing_weight: float = 0.001,
        name: str | None = None,
    ):
        # Read by `_build_policy`, which runs inside the base constructor.
        self._exploitation_coefficient = exploitation_coefficient
        self._max_exploration_probability_hint = max_exploration_probability_hint
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            reward_network=reward_network,
            optimizer=optimizer,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            accepts_per_arm_features=accepts_per_arm_features,
            constraints=constraints,
            error_loss_fn=error_loss_fn,
            gradient_clipping=gradient_clipping,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            emit_policy_info=emit_policy_info,
            train_step_counter=train_step_counter,
            num_samples_list=num_samples_list,
            laplacian_matrix=laplacian_matrix,
            laplacian_smoothing_weight=laplacian_smoothing_weight,
            name=name,
        )

    def _build_policy(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        reward_network: types.Network,
        observation_and_action_constraint_splitter: types.Splitter | None,
        constraints: Sequence[constr.BaseConstraint],
        accepts_per_arm_features: bool,
        emit_policy_info: tuple[str, ...],
        num_samples_list: Sequence[tf.Variable],
    ) -> tf_policy.TFPolicy:
        """A `FalconRewardPredictionPolicy` over the reward network."""
        return falcon_reward_prediction_policy.FalconRewardPredictionPolicy(
            time_step_spec,
            action_spec,
            reward_network,
            exploitation_coefficient=self._exploitation_coefficient,
            max_exploration_probability_hint=self._max_exploration_probability_hint,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            constraints=constraints,
            accepts_per_arm_features=accepts_per_arm_features,
            emit_policy_info=emit_policy_info,
            num_samples_list=num_samples_list,
        )
