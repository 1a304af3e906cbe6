"""`BehavioralCloningAgent`: learn to act by imitating recorded actions.

    agent = behavioral_cloning_agent.BehavioralCloningAgent(
        time_step_spec, action_spec, cloning_network=q_net,
        optimizer=tf.keras.optimizers.Adam(1e-3))
    agent.train(expert_experience)        # [B] (or [B, T]) trajectories

Discrete actions: cross-entropy between the network's logits (or the logits
of its categorical distribution) and the recorded action. Continuous actions:
mean squared error of the network's action (a sample, for a distribution).
Other action nests need a `loss_fn(experience, training) -> [B] losses`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any, Literal

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.agents import data_converter, tf_agent
from policylib.distributions import utils as distribution_utils
from policylib.networks import network
from policylib.policies import (
    actor_policy,
    epsilon_greedy_policy,
    greedy_policy,
    q_policy,
    tf_policy,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import common

__all__ = ["BehavioralCloningAgent", "BehavioralCloningLossInfo"]


class BehavioralCloningLossInfo(
    collections.namedtuple("BehavioralCloningLossInfo", "loss")
):
    """The `extra` of a behavioral cloning `LossInfo`: the per-example loss."""


@gin.configurable
class BehavioralCloningAgent(tf_agent.TFAgent):
    """An agent that clones the actions of recorded experience.

    Args:
      time_step_spec: `TimeStep` of specs.
      action_spec: nest of action specs.
      cloning_network: maps observations to action logits (discrete), actions
        (continuous), or distributions of them.
      optimizer: a Keras (2 or 3) or `tf.compat.v1.train` optimizer.
      num_outer_dims: 1 (`[B]` experience) or 2 (`[B, T]`).
      epsilon_greedy: exploration of the collect policy (discrete actions).
      loss_fn: `loss_fn(experience, training) -> per-example losses`; needed
        unless there is one scalar discrete action or one continuous action.
      gradient_clipping: if set, each gradient tensor is clipped to this norm
        (per variable, as TF-Agents does).
      debug_summaries, summarize_grads_and_vars, train_step_counter: see
        `TFAgent`.
      name: the agent's name scope.

    Raises:
      ValueError: no action, or no `loss_fn` for an action nest that needs one.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        cloning_network: network.Network,
        optimizer: types.Optimizer,
        num_outer_dims: Literal[1, 2] = 1,
        epsilon_greedy: types.Float = 0.1,
        loss_fn: Callable[[types.NestedTensor, bool], types.Tensor] | None = None,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        self._cloning_network = cloning_network
        self._optimizer = optimizer
        self._gradient_clipping = gradient_clipping
        action_spec = tensor_spec.from_spec(action_spec)
        flat = tf.nest.flatten(action_spec)
        if not flat:
            raise ValueError("The `action_spec` must contain at least one action.")
        continuous = [tensor_spec.is_continuous(s) for s in flat]
        single_discrete_scalar = (
            len(flat) == 1 and flat[0].shape.rank == 0 and not continuous[0]
        )
        single_continuous = len(flat) == 1 and continuous[0]
        if loss_fn is None and not (single_discrete_scalar or single_continuous):
            raise ValueError(
                "A `loss_fn` must be provided unless there is a single, scalar discrete "
                "action or a single (scalar or non-scalar) continuous action."
            )
        self._network_output_spec = cloning_network.create_variables(
            time_step_spec.observation
        )
        if any(continuous):
            self._bc_loss_fn = loss_fn or self._continuous_loss_fn
            collect_policy: tf_policy.TFPolicy = actor_policy.ActorPolicy(
                time_step_spec, action_spec, actor_network=cloning_network
            )
            policy: tf_policy.TFPolicy = greedy_policy.GreedyPolicy(collect_policy)
        else:
            self._bc_loss_fn = loss_fn or self._discrete_loss
            base = self._discrete_base_policy(time_step_spec, action_spec)
            policy = greedy_policy.GreedyPolicy(base)
            collect_policy = epsilon_greedy_policy.EpsilonGreedyPolicy(
                base, epsilon=epsilon_greedy
            )
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            collect_policy,
            train_sequence_length=None,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None, num_outer_dims=num_outer_dims
        )

    @property
    def cloning_network(self) -> network.Network:
        return self._cloning_network

    def _discrete_base_policy(
        self, time_step_spec: ts.TimeStep, action_spec: types.NestedTensorSpec
    ) -> tf_policy.TFPolicy:
        """An actor policy for a distribution network, else a Q policy over the logits."""
        emits_distributions = any(
            isinstance(s, distribution_utils.DistributionSpecV2)
            for s in tf.nest.flatten([self._network_output_spec])
        )
        if emits_distributions:
            return actor_policy.ActorPolicy(
                time_step_spec, action_spec, self._cloning_network
            )
        return q_policy.QPolicy(
            time_step_spec,
            action_spec,
            q_network=self._cloning_network,
            validate_action_spec_and_network=False,
        )

    def _network_outputs(
        self, experience: trajectory.Trajectory, training: bool
    ) -> types.NestedTensor:
        batch_size = (
            tf.compat.dimension_value(experience.step_type.shape[0])
            or tf.shape(experience.step_type)[0]
        )
        outputs, _ = self._cloning_network(
            experience.observation,
            step_type=experience.step_type,
            training=training,
            network_state=self._cloning_network.get_initial_state(batch_size),
        )
        return outputs

    def _discrete_loss(
        self, experience: trajectory.Trajectory, training: bool = False
    ) -> tf.Tensor:
        """Cross-entropy of the recorded actions under the network's logits."""
        outputs = self._network_outputs(experience, training)
        logits = (
            outputs.logits_parameter()
            if isinstance(outputs, tfp.distributions.Distribution)
            else outputs
        )
        losses = tf.nest.map_structure(
            lambda action, logit, spec: tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=action - spec.minimum, logits=logit
            ),
            experience.action,
            logits,
            self.action_spec,
        )
        return tf.add_n(tf.nest.flatten(losses))

    def _continuous_loss_fn(
        self, experience: trajectory.Trajectory, training: bool = False
    ) -> tf.Tensor:
        """Mean squared error between the recorded and the network's actions."""
        outputs = self._network_outputs(experience, training)
        if isinstance(outputs, tfp.distributions.Distribution):
            outputs = outputs.sample()
        losses = tf.nest.map_structure(
            lambda a, b: tf.reduce_mean(tf.math.squared_difference(a, b), axis=-1),
            experience.action,
            outputs,
        )
        return tf.add_n(tf.nest.flatten(losses))

    def _aggregate(
        self,
        experience: trajectory.Trajectory,
        weights: types.Tensor | None,
        training: bool,
    ) -> tuple[tf.Tensor, common.AggregatedLosses]:
        per_example = self._bc_loss_fn(experience, training=training)  # type: ignore[call-arg]
        return per_example, common.aggregate_losses(
            per_example_loss=per_example,
            sample_weight=weights,
            regularization_loss=self._cloning_network.losses,
        )

    def _loss(
        self, experience: Any, weights: Any = None, training: bool = False
    ) -> tf_agent.LossInfo:
        experience = self._as_trajectory(experience)
        per_example, aggregated = self._aggregate(experience, weights, training)
        return tf_agent.LossInfo(
            aggregated.total_loss, BehavioralCloningLossInfo(per_example)
        )

    def _train(self, experience: Any, weights: Any = None) -> tf_agent.LossInfo:
        experience = self._as_trajectory(experience)
        with tf.GradientTape() as tape:
            per_example, aggregated = self._aggregate(experience, weights, True)
        self._apply_loss(
            aggregated,
            self._cloning_network.trainable_variables,
            tape=tape,
            optimizer=self._optimizer,
        )
        self.train_step_counter.assign_add(1)
        return tf_agent.LossInfo(
            aggregated.total_loss, BehavioralCloningLossInfo(per_example)
        )
