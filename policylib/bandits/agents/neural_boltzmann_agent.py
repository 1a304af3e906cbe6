"""`NeuralBoltzmannAgent`: a reward network with Boltzmann exploration.

The agent trains its reward network as `GreedyRewardPredictionAgent` does;
its policy samples arms from a softmax of the predicted rewards divided by a
temperature, or, with `boltzmann_gumbel_exploration_constant`, follows
Boltzmann-Gumbel exploration (N. Cesa-Bianchi et al., "Boltzmann Exploration
Done Right", NeurIPS 2017), whose noise shrinks as an arm's sample count
(`num_samples_list`) grows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import gin
import tensorflow as tf

from policylib.bandits.agents import greedy_reward_prediction_agent
from policylib.bandits.policies import boltzmann_reward_prediction_policy
from policylib.bandits.policies import constraints as constr
from policylib.policies import tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["NeuralBoltzmannAgent"]


@gin.configurable
class NeuralBoltzmannAgent(greedy_reward_prediction_agent.GreedyRewardPredictionAgent):
    """A reward-prediction agent whose policy explores with Boltzmann sampling.

    Arguments not listed here are `GreedyRewardPredictionAgent`'s.

    Args:
      temperature: softmax temperature, a float or a callable returning one
        (lower: greedier).
      boltzmann_gumbel_exploration_constant: positive constant of
        Boltzmann-Gumbel exploration, which then replaces the temperature;
        needs `num_samples_list`.
      num_samples_list: per-arm sample counters (one in total with per-arm
        features), updated by `train`; used by Boltzmann-Gumbel only.

    Raises:
      ValueError: as `GreedyRewardPredictionAgent`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        reward_network: types.Network,
        optimizer: types.Optimizer | None,
        temperature: types.FloatOrReturningFloat = 1.0,
        boltzmann_gumbel_exploration_constant: types.Float | None = None,
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
        num_samples_list: Sequence[tf.Variable] = (),
        laplacian_matrix: types.Float | None = None,
        laplacian_smoothing_weight: float = 0.001,
        name: str | None = None,
    ):
        # Read by `_build_policy`, which runs inside the base constructor.
        self._temperature = temperature
        self._boltzmann_gumbel_exploration_constant = (
            boltzmann_gumbel_exploration_constant
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
        """A `BoltzmannRewardPredictionPolicy` over the reward network."""
        return boltzmann_reward_prediction_policy.BoltzmannRewardPredictionPolicy(
            time_step_spec,
            action_spec,
            reward_network,
            self._temperature,
            self._boltzmann_gumbel_exploration_constant,
            observation_and_action_constraint_splitter,
            constraints=constraints,
            accepts_per_arm_features=accepts_per_arm_features,
            emit_policy_info=emit_policy_info,
            num_samples_list=num_samples_list,
        )
