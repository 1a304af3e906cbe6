"""`NeuralEpsilonGreedyAgent`: a reward network with epsilon-greedy exploration.

The agent trains its reward network as `GreedyRewardPredictionAgent` does;
its policy plays the arm with the best predicted reward with probability
`1 - epsilon` and a uniformly random allowed arm otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import gin
import tensorflow as tf

from policylib.bandits.agents import greedy_reward_prediction_agent
from policylib.bandits.policies import constraints as constr
from policylib.policies import epsilon_greedy_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["NeuralEpsilonGreedyAgent"]


@gin.configurable
class NeuralEpsilonGreedyAgent(
    greedy_reward_prediction_agent.GreedyRewardPredictionAgent
):
    """A reward-prediction agent whose policy explores epsilon-greedily.

    Arguments not listed here are `GreedyRewardPredictionAgent`'s. Only greedy
    choices respect `constraints`; random ones respect just the action mask.

    Args:
      epsilon: probability of playing a uniformly random arm instead of the
        greedy one: a float in [0, 1] or a callable returning one.
      info_fields_to_inherit_from_greedy: policy info fields reported from
        the greedy step even when the random arm was played.

    Raises:
      ValueError: as `GreedyRewardPredictionAgent`, or `epsilon` is a number
        outside [0, 1].
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        reward_network: types.Network,
        optimizer: types.Optimizer | None,
        epsilon: types.FloatOrReturningFloat,
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
        info_fields_to_inherit_from_greedy: Sequence[str] = (),
        name: str | None = None,
    ):
        # Read by `_build_policy`, which runs inside the base constructor.
        self._epsilon = epsilon
        self._info_fields_to_inherit_from_greedy = tuple(
            info_fields_to_inherit_from_greedy
        )
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
        """The greedy reward-prediction policy, wrapped in epsilon-greedy."""
        greedy = super()._build_policy(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            reward_network=reward_network,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            constraints=constraints,
            accepts_per_arm_features=accepts_per_arm_features,
            emit_policy_info=emit_policy_info,
            num_samples_list=num_samples_list,
        )
        return epsilon_greedy_policy.EpsilonGreedyPolicy(
            greedy,
            epsilon=self._epsilon,
            info_fields_to_inherit_from_greedy=self._info_fields_to_inherit_from_greedy,
        )
