"""`ReinforceAgent`: Monte-Carlo policy gradient over whole episodes.

    agent = reinforce_agent.ReinforceAgent(
        env.time_step_spec(), env.action_spec(),
        actor_network=actor_distribution_network.ActorDistributionNetwork(...),
        optimizer=tf.keras.optimizers.Adam(1e-3), normalize_returns=True)

The loss is `-sum_t log pi(a_t | s_t) * A_t / episodes`, with `A_t` the
discounted return from `t` (minus a learned value with `value_network`;
Sutton & Barto 2018, 13.4), normalized when `normalize_returns`. Steps after
the last complete episode of each batch row are masked out: REINFORCE needs
full episodes (Williams, 1992).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.base import nest_utils
from policylib.networks import network
from policylib.policies import actor_policy, greedy_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import common, summaries, value_ops

__all__ = ["ReinforceAgent", "ReinforceAgentLossInfo"]

AdvantageFnType = Callable[[types.Tensor, types.Tensor], types.Tensor]


class ReinforceAgentLossInfo(
    collections.namedtuple(
        "ReinforceAgentLossInfo",
        (
            "policy_gradient_loss",
            "policy_network_regularization_loss",
            "entropy_regularization_loss",
            "value_estimation_loss",
            "value_network_regularization_loss",
        ),
    )
):
    """The `extra` of a REINFORCE `LossInfo`: each term of the total loss."""


def _standard_normalize(values: tf.Tensor, axes: Sequence[int] = (0,)) -> tf.Tensor:
    """`(values - mean) / std` over `axes`."""
    mean, variance = tf.nn.moments(x=values, axes=axes, keepdims=True)
    epsilon = np.finfo(values.dtype.as_numpy_dtype).eps
    return (values - mean) / (tf.sqrt(variance) + epsilon)


def _entropy_loss(
    distributions: types.NestedDistribution,
    spec: types.NestedTensorSpec,
    weights: types.Tensor | None = None,
) -> tf.Tensor:
    """The mean negative entropy (weighted per element when `weights` are given)."""
    with tf.name_scope("entropy_regularization"):
        entropy = -tf.cast(common.entropy(distributions, spec), tf.float32)
        if weights is not None:
            entropy *= weights
        return tf.reduce_mean(entropy)


def _get_initial_policy_state(
    policy: tf_policy.TFPolicy, time_steps: ts.TimeStep
) -> types.NestedTensor:
    batch_size = (
        tf.compat.dimension_at_index(time_steps.discount.shape, 0)
        or tf.shape(time_steps.discount)[0]
    )
    return policy.get_initial_state(batch_size=batch_size)


@gin.configurable
class ReinforceAgent(tf_agent.TFAgent):
    """A REINFORCE agent.

    Args:
      time_step_spec: `TimeStep` of specs.
      action_spec: nest of action specs.
      actor_network: a distribution network of the actions.
      optimizer: a Keras (2 or 3) or `tf.compat.v1.train` optimizer.
      value_network: optional value network: a learned baseline.
      value_estimation_loss_coef: weight of the value loss.
      advantage_fn: `fn(returns, value_preds) -> advantages` (default:
        `returns - value_preds` with a baseline, else `returns`).
      use_advantage_loss: subtract the baseline (with a value network).
      gamma: reward discount.
      normalize_returns: standardize the advantages over the batch.
      gradient_clipping: if set, each gradient tensor is clipped to this norm
        (per variable, as TF-Agents does).
      debug_summaries, summarize_grads_and_vars, train_step_counter: see
        `TFAgent`.
      entropy_regularization: weight of an entropy bonus, if set.
      name: the agent's name scope.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.TensorSpec,
        actor_network: network.Network,
        optimizer: types.Optimizer,
        value_network: network.Network | None = None,
        value_estimation_loss_coef: types.Float = 0.2,
        advantage_fn: AdvantageFnType | None = None,
        use_advantage_loss: bool = True,
        gamma: types.Float = 1.0,
        normalize_returns: bool = True,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        entropy_regularization: types.Float | None = None,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        actor_network.create_variables()
        self._actor_network = actor_network
        if value_network is not None:
            value_network.create_variables()
        self._value_network = value_network
        collect_policy = actor_policy.ActorPolicy(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            actor_network=self._actor_network,
            clip=True,
        )
        self._optimizer = optimizer
        self._gamma = gamma
        self._normalize_returns = normalize_returns
        self._gradient_clipping = gradient_clipping
        self._entropy_regularization = entropy_regularization
        self._value_estimation_loss_coef = value_estimation_loss_coef
        self._baseline = value_network is not None
        if advantage_fn is None:
            if use_advantage_loss and self._baseline:
                advantage_fn = lambda returns, values: returns - values  # noqa: E731
            else:
                advantage_fn = lambda returns, _: returns  # noqa: E731
        self._advantage_fn = advantage_fn
        super().__init__(
            time_step_spec,
            action_spec,
            greedy_policy.GreedyPolicy(collect_policy),
            collect_policy,
            train_sequence_length=None,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )
        self._as_trajectory = data_converter.AsTrajectory(self.data_context)

    def _returns(self, experience: trajectory.Trajectory) -> tf.Tensor:
        """Discounted returns `[B, T]`; accumulation restarts after LAST steps."""
        not_last = tf.cast(
            tf.math.not_equal(experience.next_step_type, ts.StepType.LAST), tf.float32
        )
        discounts = not_last * experience.discount * self._gamma
        return value_ops.discounted_return(
            experience.reward, discounts, time_major=False
        )

    def _train(self, experience: Any, weights: Any = None) -> tf_agent.LossInfo:
        experience = self._as_trajectory(experience)
        returns = self._returns(experience)
        if self._debug_summaries:
            step = self.train_step_counter
            summaries.histogram(name="rewards", data=experience.reward, step=step)
            summaries.histogram(name="discounts", data=experience.discount, step=step)
            summaries.histogram(name="returns", data=returns, step=step)
        with tf.GradientTape() as tape:
            loss_info = self.total_loss(
                experience, tf.stop_gradient(returns), weights=weights, training=True
            )
        variables = list(self._actor_network.trainable_variables)
        if self._value_network is not None:
            variables += self._value_network.trainable_variables
        self._apply_gradients(loss_info.loss, variables, tape, self._optimizer)
        self.train_step_counter.assign_add(1)
        return tf.nest.map_structure(tf.identity, loss_info)

    def _loss(
        self, experience: Any, weights: Any = None, training: bool = False
    ) -> tf_agent.LossInfo:
        experience = self._as_trajectory(experience)
        return self.total_loss(
            experience, self._returns(experience), weights=weights, training=training
        )

    def total_loss(
        self,
        experience: Any,
        returns: types.Tensor,
        weights: types.Tensor | None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The REINFORCE loss of `[B, T]` experience with `returns`.

        Raises:
          InvalidArgumentError: no episode in the batch is complete.
        """
        time_steps = ts.TimeStep(
            experience.step_type,
            tf.zeros_like(experience.reward),
            tf.zeros_like(experience.discount),
            experience.observation,
        )
        num_episodes = tf.reduce_sum(tf.cast(experience.is_last(), tf.float32))
        tf.debugging.assert_greater(
            num_episodes,
            0.0,
            message="No complete episode found. REINFORCE requires full episodes "
            "to compute losses.",
        )
        # Steps after a row's last complete episode do not count.
        ends_later = tf.math.cumsum(
            tf.cast(experience.is_last(), tf.float32), axis=1, reverse=True
        )
        valid = tf.cast(ends_later > 0, tf.float32)
        weights = valid if weights is None else weights * valid

        value_preds = None
        if self._value_network is not None:
            value_preds, _ = self._value_network(
                time_steps.observation, time_steps.step_type, training=True
            )
            if self._debug_summaries:
                summaries.histogram(
                    name="value_preds", data=value_preds, step=self.train_step_counter
                )
        # The baseline only centres the returns: no policy-loss gradient reaches
        # the value network (TF-Agents lets it through, which skews the values).
        baseline = None if value_preds is None else tf.stop_gradient(value_preds)
        advantages = self._advantage_fn(returns, baseline)
        if self._debug_summaries:
            summaries.histogram(
                name="advantages", data=advantages, step=self.train_step_counter
            )
        if self._normalize_returns:
            advantages = _standard_normalize(advantages, axes=(0, 1))
            if self._debug_summaries:
                name = "advantages" if self._baseline else "returns"
                summaries.histogram(
                    name=f"normalized_{name}",
                    data=advantages,
                    step=self.train_step_counter,
                )
        nest_utils.assert_same_structure(time_steps, self.time_step_spec)
        distribution = self.collect_policy.distribution(
            time_steps,
            policy_state=_get_initial_policy_state(self.collect_policy, time_steps),
        ).action
        policy_gradient_loss = self.policy_gradient_loss(
            distribution,
            experience.action,
            experience.is_boundary(),
            advantages,
            num_episodes,
            weights,
        )
        entropy_loss = self.entropy_regularization_loss(distribution, weights)
        regularization = tf.nn.scale_regularization_loss(self._actor_network.losses)
        total_loss = policy_gradient_loss + regularization + entropy_loss
        losses = {
            "policy_gradient_loss": policy_gradient_loss,
            "policy_network_regularization_loss": regularization,
            "entropy_regularization_loss": entropy_loss,
            "value_estimation_loss": 0.0,
            "value_network_regularization_loss": 0.0,
        }
        if self._value_network is not None:
            value_loss = self.value_estimation_loss(
                value_preds, returns, num_episodes, weights
            )
            value_regularization = tf.nn.scale_regularization_loss(
                self._value_network.losses
            )
            total_loss += value_loss + value_regularization
            losses["value_estimation_loss"] = value_loss
            losses["value_network_regularization_loss"] = value_regularization
        extra = ReinforceAgentLossInfo(**losses)
        common.summarize_scalar_dict(
            dict(losses, total_loss=total_loss), self.train_step_counter, "Losses/"
        )
        return tf_agent.LossInfo(total_loss, extra)

    def policy_gradient_loss(
        self,
        actions_distribution: types.NestedDistribution,
        actions: types.NestedTensor,
        is_boundary: types.Tensor,
        returns: types.Tensor,
        num_episodes: types.Int,
        weights: types.Tensor | None = None,
    ) -> types.Tensor:
        """`-sum(log pi(a|s) * returns * weights) / num_episodes`, boundaries masked."""
        log_prob = common.log_probability(
            actions_distribution, actions, self.action_spec
        )
        log_prob *= tf.cast(~is_boundary, tf.float32)
        weighted = log_prob * returns
        if weights is not None:
            weighted *= weights
        if self._debug_summaries:
            step = self.train_step_counter
            summaries.histogram(name="action_log_prob", data=log_prob, step=step)
            summaries.histogram(
                name="action_log_prob_times_return", data=weighted, step=step
            )
        return -tf.reduce_sum(weighted) / num_episodes

    def entropy_regularization_loss(
        self,
        actions_distribution: types.NestedDistribution,
        weights: types.Tensor | None = None,
    ) -> types.Tensor:
        """`entropy_regularization` times the mean negative entropy (0 if unset)."""
        if not self._entropy_regularization:
            return tf.constant(0.0, dtype=tf.float32)
        return (
            _entropy_loss(actions_distribution, self.action_spec, weights)
            * self._entropy_regularization
        )

    def value_estimation_loss(
        self,
        value_preds: types.Tensor,
        returns: types.Tensor,
        num_episodes: types.Int,
        weights: types.Tensor | None = None,
    ) -> types.Tensor:
        """`coef * sum((returns - values)^2 * weights) / num_episodes`."""
        error = tf.math.squared_difference(returns, value_preds)
        if weights is not None:
            error *= weights
        return tf.reduce_sum(error) * self._value_estimation_loss_coef / num_episodes
