"""Trains one network per objective; acts greedily on their scalarized predictions.

TF-Agents' `bandits.agents.greedy_multi_objective_neural_agent`. The reward is
a vector, one entry per objective; network `i` learns to predict objective `i`
of the played action with its own error loss, and the agent's policy
(`GreedyMultiObjectiveNeuralPolicy`) scalarizes the networks' predictions and
takes the best action. The loss is the sum of the objectives' losses, each the
mean of weighted per-example errors (a heteroscedastic network's also learns a
variance per action), plus Laplacian smoothing when the arms form a graph.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.bandits.agents import utils as bandit_utils
from policylib.bandits.agents.greedy_reward_prediction_agent import (
    _checked_laplacian,
    _mean,
)
from policylib.bandits.multi_objective import multi_objective_scalarizer
from policylib.bandits.networks import heteroscedastic_q_network
from policylib.bandits.policies import (
    greedy_multi_objective_neural_policy as greedy_multi_objective_policy,
)
from policylib.networks import network as network_lib
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = ["GreedyMultiObjectiveNeuralAgent"]

_LOG = logging.getLogger(__name__)

ErrorLoss = Callable[..., tf.Tensor]


@gin.configurable
class GreedyMultiObjectiveNeuralAgent(tf_agent.TFAgent):
    """A neural bandit agent for several objectives, combined by a `Scalarizer`."""

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedBoundedTensorSpec,
        scalarizer: multi_objective_scalarizer.Scalarizer,
        objective_network_and_loss_fn_sequence: Sequence[
            tuple[network_lib.Network, ErrorLoss]
        ],
        optimizer: types.Optimizer,
        observation_and_action_constraint_splitter: types.Splitter = None,
        accepts_per_arm_features: bool = False,
        gradient_clipping: float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        emit_policy_info: Sequence[str] = (),
        train_step_counter: tf.Variable | None = None,
        laplacian_matrix: types.Float | None = None,
        laplacian_smoothing_weights: Sequence[float] | None = None,
        name: str | None = None,
    ) -> None:
        """Args:
        time_step_spec: the time steps' spec; its reward has one entry per
          objective.
        action_spec: a scalar bounded integer spec starting at 0.
        scalarizer: combines the predicted objectives into one value per action.
        objective_network_and_loss_fn_sequence: `(network, error_loss)` per
          objective, at least two. A network maps observations to
          `[batch_size, num_actions]` predictions; `error_loss(labels,
          predictions, reduction=...)` is any `tf.compat.v1.losses` function.
        optimizer: trains all the networks.
        observation_and_action_constraint_splitter: `observation -> (network
          input, [batch_size, num_actions] 0/1 mask)`.
        accepts_per_arm_features: the observation holds global and per-arm
          features; training sees the chosen arm's features only.
        gradient_clipping: global norm to clip gradients to, or None.
        debug_summaries, summarize_grads_and_vars, enable_summaries: summaries.
        emit_policy_info: `InfoFields` names the policy puts in its info.
        train_step_counter: incremented by each `train` call.
        laplacian_matrix: `[num_actions, num_actions]` graph Laplacian of the
          arms, or None for no smoothing.
        laplacian_smoothing_weights: the smoothing term's weight per objective;
          required with `laplacian_matrix`.
        name: the agent's name.

        Raises:
          ValueError: fewer than two objectives, a bad action spec or Laplacian,
            or smoothing weights missing or not one per objective.
        """
        tf.Module.__init__(self, name=name)
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._accepts_per_arm_features = accepts_per_arm_features
        self._num_objectives = len(objective_network_and_loss_fn_sequence)
        if self._num_objectives < 2:
            raise ValueError(
                "Number of objectives should be at least two, but found to be "
                f"{self._num_objectives}"
            )
        networks, losses = zip(*objective_network_and_loss_fn_sequence)
        self._objective_networks: tuple[network_lib.Network, ...] = tuple(networks)
        self._error_loss_fns: tuple[ErrorLoss, ...] = tuple(losses)
        self._optimizer = optimizer
        self._gradient_clipping = gradient_clipping
        self._heteroscedastic = [
            isinstance(network, heteroscedastic_q_network.HeteroscedasticQNetwork)
            for network in self._objective_networks
        ]
        self._laplacian_matrix = _checked_laplacian(laplacian_matrix, self._num_actions)
        self._laplacian_smoothing_weights = laplacian_smoothing_weights
        if self._laplacian_matrix is not None:
            if laplacian_smoothing_weights is None:
                raise ValueError(
                    "laplacian_smoothing_weights cannot be None when the Laplacian "
                    "matrix is provided."
                )
            if len(laplacian_smoothing_weights) != self._num_objectives:
                raise ValueError(
                    "The length of laplacian smoothing weights: "
                    f"{len(laplacian_smoothing_weights)} does not equal the number "
                    f"of objectives: {self._num_objectives}"
                )
        policy = greedy_multi_objective_policy.GreedyMultiObjectiveNeuralPolicy(
            time_step_spec,
            action_spec,
            scalarizer,
            self._objective_networks,
            observation_and_action_constraint_splitter,
            accepts_per_arm_features=accepts_per_arm_features,
            emit_policy_info=emit_policy_info,
        )
        training_data_spec = None
        if accepts_per_arm_features:
            # Training sees the chosen arm's features (policy info), not all arms'.
            training_data_spec = bandit_spec_utils.drop_arm_observation(
                policy.trajectory_spec
            )
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            collect_policy=policy,
            train_sequence_length=None,
            training_data_spec=training_data_spec,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            train_step_counter=train_step_counter,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    def _initialize(self) -> None:
        # Variables exist from construction on; only TF1 graphs need an op.
        if not tf.executing_eagerly():
            tf.compat.v1.variables_initializer(list(self.variables))

    def _variables_to_train(self) -> list[tf.Variable]:
        """The objective networks' trainable variables, each once (shared layers)."""
        return keras_compat.tf_variables(
            v
            for network in self._objective_networks
            for v in network.trainable_variables
        )

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        experience = self._as_trajectory(experience)
        variables_to_train = self._variables_to_train()
        with tf.GradientTape() as tape:
            loss_info = self._loss(experience, weights=weights, training=True)
        if not variables_to_train:
            _LOG.info("%s has no variables to train.", type(self).__name__)
            return loss_info
        self._apply_gradients(loss_info.loss, variables_to_train, tape, self._optimizer)
        self.train_step_counter.assign_add(1)
        return loss_info

    def _single_objective_loss(
        self,
        objective_idx: int,
        observations: types.NestedTensor,
        actions: types.Tensor,
        single_objective_values: types.Tensor,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """Objective `objective_idx`'s loss on a `[batch_size]` batch.

        Raises:
          ValueError: `objective_idx` is not the index of an objective network.
        """
        if not 0 <= objective_idx < self._num_objectives:
            raise ValueError(
                f"objective_idx should be between 0 and {self._num_objectives}, "
                f"but is {objective_idx}"
            )
        with tf.name_scope(f"loss_for_objective_{objective_idx}"):
            network = self._objective_networks[objective_idx]
            sample_weights: Any = 1.0 if weights is None else weights
            output, _ = network(observations, training=training)
            actions = tf.cast(actions, tf.int32)
            loss = tf.constant(0.0)
            if self._heteroscedastic[objective_idx]:
                # Gaussian negative log-likelihood with a learned variance per action.
                predicted = output.q_value_logits
                log_variance = common.index_with_actions(output.log_variance, actions)
                sample_weights = sample_weights * 0.5 * tf.exp(-log_variance)
                loss += 0.5 * _mean(log_variance)
            else:
                predicted = output
            played = common.index_with_actions(predicted, actions)
            if self._laplacian_matrix is not None:
                assert self._laplacian_smoothing_weights is not None  # checked
                smoothness = tf.reduce_sum(
                    predicted * tf.matmul(predicted, self._laplacian_matrix), axis=1
                )
                weight = self._laplacian_smoothing_weights[objective_idx]
                loss += weight * _mean(smoothness * sample_weights)
            errors = self._error_loss_fns[objective_idx](
                tf.cast(single_objective_values, played.dtype),
                played,
                reduction=tf.compat.v1.losses.Reduction.NONE,
            )
            loss += _mean(errors * sample_weights)
        return loss

    def _loss(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """`LossInfo(sum of the objectives' losses, ())` on `experience`.

        Raises:
          ValueError: the rewards are not `[batch_size, num_objectives]`.
        """
        observations, actions, objective_values = (
            bandit_utils.process_experience_for_neural_agents(
                experience, self._accepts_per_arm_features, self.training_data_spec
            )
        )
        if self._observation_and_action_constraint_splitter is not None:
            observations, _ = self._observation_and_action_constraint_splitter(
                observations
            )
        rank = objective_values.shape.rank
        if rank != 2:
            raise ValueError(
                "The objectives tensor should be rank-2 [batch_size, num_objectives],"
                f" but found to be rank-{rank}"
            )
        if objective_values.shape[1] != self._num_objectives:
            raise ValueError(
                "The number of objectives in the objective_values tensor: "
                f"{objective_values.shape[1]} is different from the number of "
                f"objective networks: {self._num_objectives}."
            )
        losses = [
            self._single_objective_loss(
                i, observations, actions, objective_values[:, i], weights, training
            )
            for i in range(self._num_objectives)
        ]
        self.compute_summaries(losses)
        return tf_agent.LossInfo(tf.reduce_sum(losses), extra=())

    def compute_summaries(self, losses: Sequence[tf.Tensor]) -> None:
        """One `Losses/<network name>` scalar per objective; variable histograms.

        Raises:
          ValueError: not one loss per objective.
        """
        if len(losses) != self._num_objectives:
            raise ValueError(
                f"The number of losses: {len(losses)} does not equal the number of "
                f"objectives: {self._num_objectives}"
            )
        if not self.summaries_enabled:
            return
        with tf.name_scope("Losses/"):
            for i, (network, loss) in enumerate(zip(self._objective_networks, losses)):
                tf.summary.scalar(
                    name=network.name or f"loss_{i}",
                    data=loss,
                    step=self.train_step_counter,
                )
        if self._summarize_grads_and_vars:
            with tf.name_scope("Variables/"):
                for variable in self._variables_to_train():
                    tf.summary.histogram(
                        name=variable.name.replace(":", "_"),
                        data=variable,
                        step=self.train_step_counter,
                    )
