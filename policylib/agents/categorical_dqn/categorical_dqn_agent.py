"""`CategoricalDqnAgent`: C51, a distribution of returns on fixed atoms per action.

    net = categorical_q_network.CategoricalQNetwork(obs_spec, action_spec, num_atoms=51)
    agent = categorical_dqn_agent.CategoricalDqnAgent(
        time_step_spec, action_spec, categorical_q_network=net,
        optimizer=tf.keras.optimizers.Adam(1e-3), min_q_value=-20, max_q_value=20)

The network gives logits over `num_atoms` atoms spread evenly on
`[min_q_value, max_q_value]`. The target distribution (the target network's,
for its greedy next action) is shifted by the (n-step) reward and discount,
projected back onto the atoms, and the loss is the cross-entropy of the
taken action's logits against it. Bellemare et al., 2017, Algorithm 1.
"""

from __future__ import annotations

from typing import Any

import gin
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.agents.dqn import dqn_agent
from policylib.base import nest_utils
from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.policies import categorical_q_policy, greedy_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import common, value_ops

__all__ = ["CategoricalDqnAgent", "project_distribution"]


def _num_atoms(net: network.Network, label: str) -> int:
    try:
        return net.num_atoms
    except AttributeError:
        raise TypeError(
            f"Expected {label} to have property `num_atoms`, but it doesn't. (Note: "
            f"you likely want to use a CategoricalQNetwork.) Network is: {net}"
        ) from None


@gin.configurable
class CategoricalDqnAgent(dqn_agent.DqnAgent):
    """A categorical (C51) DQN agent.

    Args:
      time_step_spec, action_spec, optimizer, observation_and_action_constraint_splitter, epsilon_greedy, n_step_update, boltzmann_temperature, target_update_tau, target_update_period, td_errors_loss_fn, gamma, reward_scale_factor, gradient_clipping, debug_summaries, summarize_grads_and_vars, train_step_counter, name: see `DqnAgent`.
      categorical_q_network: a network with `num_atoms`, emitting logits
        `[B, num_actions, num_atoms]`.
      min_q_value, max_q_value: the range of the atoms.
      target_categorical_q_network: the target network (default: a copy).

    Raises:
      TypeError: a network has no `num_atoms`.
      ValueError: the two networks' atom counts differ.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        categorical_q_network: network.Network,
        optimizer: types.Optimizer,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        min_q_value: types.Float = -10.0,
        max_q_value: types.Float = 10.0,
        epsilon_greedy: types.FloatOrReturningFloat | None = 0.1,
        n_step_update: int = 1,
        boltzmann_temperature: types.FloatOrReturningFloat | None = None,
        target_categorical_q_network: network.Network | None = None,
        target_update_tau: types.Float = 1.0,
        target_update_period: types.Int = 1,
        td_errors_loss_fn: types.LossFn | None = None,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        self._num_atoms = _num_atoms(categorical_q_network, "categorical_q_network")
        if target_categorical_q_network is not None:
            target_atoms = _num_atoms(
                target_categorical_q_network, "target_categorical_q_network"
            )
            if target_atoms != self._num_atoms:
                raise ValueError(
                    "categorical_q_network and target_categorical_q_network have "
                    f"different numbers of atoms: {self._num_atoms} vs. {target_atoms}"
                )
        self._min_q_value = min_q_value
        self._max_q_value = max_q_value
        self._support = tf.linspace(
            tf.convert_to_tensor(min_q_value, dtype_hint=tf.float32),
            tf.convert_to_tensor(max_q_value, dtype_hint=tf.float32),
            self._num_atoms,
        )
        super().__init__(
            time_step_spec,
            action_spec,
            categorical_q_network,
            optimizer,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            epsilon_greedy=epsilon_greedy,
            n_step_update=n_step_update,
            boltzmann_temperature=boltzmann_temperature,
            target_q_network=target_categorical_q_network,
            target_update_tau=target_update_tau,
            target_update_period=int(target_update_period),
            td_errors_loss_fn=td_errors_loss_fn,
            gamma=gamma,
            reward_scale_factor=reward_scale_factor,
            gradient_clipping=gradient_clipping,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            name=name,
        )

    def _categorical_policy(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        q_network: network.Network,
    ) -> tf_policy.TFPolicy:
        return categorical_q_policy.CategoricalQPolicy(
            time_step_spec,
            action_spec,
            q_network,
            self._min_q_value,
            self._max_q_value,
            observation_and_action_constraint_splitter=(
                self._observation_and_action_constraint_splitter
            ),
        )

    def _setup_policy(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        boltzmann_temperature: types.Float | None,
        emit_log_probability: bool,
    ) -> tuple[tf_policy.TFPolicy, tf_policy.TFPolicy]:
        policy = self._categorical_policy(time_step_spec, action_spec, self._q_network)
        collect_policy = self._exploring(policy, boltzmann_temperature)
        self._target_greedy_policy = greedy_policy.GreedyPolicy(
            self._categorical_policy(
                time_step_spec, action_spec, self._target_q_network
            )
        )
        return greedy_policy.GreedyPolicy(policy), collect_policy

    def _check_network_output(self, net: network.Network, label: str) -> None:
        network_utils.check_single_floating_network_output(
            net.create_variables(),
            expected_output_shape=(self._num_actions, self._num_atoms),
            label=label,
        )

    def _loss(
        self,
        experience: Any,  # a Trajectory, typed as in DqnAgent._loss
        td_errors_loss_fn: types.LossFn | None = None,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The cross-entropy of the taken actions' logits against the projected target.

        Args: as `DqnAgent._loss`'s, with `[B, n + 1]` trajectories (`[B, T]`
          for RNN networks); `td_errors_loss_fn` (the loss is a cross-entropy)
          and `weights` are unused, as in TF-Agents.
        """
        del td_errors_loss_fn, weights
        squeeze = not tf.nest.flatten(self._q_network.state_spec)
        if self._n_step_update == 1:
            time_steps, policy_steps, next_time_steps = (
                trajectory.experience_to_transitions(experience, squeeze)
            )
        else:
            time_steps, policy_steps, _ = trajectory.experience_to_transitions(
                tf.nest.map_structure(lambda x: x[:, :2], experience), squeeze
            )
            _, _, next_time_steps = trajectory.experience_to_transitions(
                tf.nest.map_structure(lambda x: x[:, -2:], experience), squeeze
            )
        actions = policy_steps.action
        with tf.name_scope("critic_loss"):
            nest_utils.assert_same_structure(actions, self.action_spec)
            nest_utils.assert_same_structure(time_steps, self.time_step_spec)
            nest_utils.assert_same_structure(next_time_steps, self.time_step_spec)
            rank = nest_utils.get_outer_rank(
                time_steps.observation, self._time_step_spec.observation
            )
            squash = (
                network_utils.BatchSquash(rank)
                if rank > 1 and tf.nest.flatten(self._q_network.state_spec)
                else None
            )
            q_logits, _ = self._q_network(
                self._network_observation(time_steps),
                step_type=time_steps.step_type,
                training=training,
            )
            if squash is not None:
                q_logits = squash.flatten(q_logits)
                actions = squash.flatten(actions)
                next_time_steps = tf.nest.map_structure(squash.flatten, next_time_steps)
            next_q_distribution = self._next_q_distribution(next_time_steps)
            if actions.shape.rank > 1:
                actions = tf.squeeze(actions, list(range(1, actions.shape.rank)))
            batch_size = q_logits.shape[0] or tf.shape(q_logits)[0]
            support = tf.tile(self._support[None, :], [batch_size, 1])
            target_support = self._target_support(
                experience,
                next_time_steps,
                support,
                gamma,
                reward_scale_factor,
                batch_size,
            )
            target = tf.stop_gradient(
                project_distribution(target_support, next_q_distribution, self._support)
            )
            rows = tf.cast(tf.range(batch_size), actions.dtype)
            logits = tf.gather_nd(q_logits, tf.stack([rows, actions], axis=-1))
            if squash is not None:
                target = squash.unflatten(target)
                logits = squash.unflatten(logits)
                critic_loss = tf.reduce_sum(
                    tf.nn.softmax_cross_entropy_with_logits(
                        labels=target, logits=logits
                    ),
                    axis=1,
                )
            else:
                critic_loss = tf.nn.softmax_cross_entropy_with_logits(
                    labels=target, logits=logits
                )
            aggregated = common.aggregate_losses(
                per_example_loss=critic_loss, regularization_loss=self._q_network.losses
            )
            self._summarize_losses(aggregated, "critic_loss")
            if self._debug_summaries:
                step = self.train_step_counter
                common.generate_tensor_summaries(
                    "distribution_errors", target - logits, step=step
                )
                common.generate_tensor_summaries(
                    "target_distribution", target, step=step
                )
            return tf_agent.LossInfo(
                aggregated.total_loss, dqn_agent.DqnLossInfo(td_loss=(), td_error=())
            )

    def _target_support(
        self,
        experience: Any,
        next_time_steps: ts.TimeStep,
        support: tf.Tensor,
        gamma: types.Float,
        reward_scale_factor: types.Float,
        batch_size: types.Int,
    ) -> tf.Tensor:
        """Where each atom moves: `r + gamma * d * z` (n steps: the n-step return)."""
        if self._n_step_update == 1:
            discount = next_time_steps.discount
            reward = next_time_steps.reward
            if discount.shape.rank == 1:
                discount = discount[:, None]
            if reward.shape.rank == 1:
                reward = reward[:, None]
            return reward_scale_factor * reward + gamma * discount * support
        rewards = reward_scale_factor * experience.reward[:, :-1]
        discounts = gamma * experience.discount[:, :-1]
        returns = value_ops.discounted_return(
            rewards=rewards,
            discounts=discounts,
            final_value=tf.zeros([batch_size], dtype=discounts.dtype),
            time_major=False,
            provide_all_returns=False,
        )
        final_discount = tf.reduce_prod(discounts, axis=1)
        # Kept for inspection (TF-Agents' tests read them).
        self._discounted_returns = returns[:, None]
        self._final_value_discount = final_discount[:, None]
        return self._discounted_returns + self._final_value_discount * support

    def _next_q_distribution(self, next_time_steps: ts.TimeStep) -> tf.Tensor:
        """The target network's atom probabilities for its greedy next action."""
        logits, _ = self._target_q_network(
            self._network_observation(next_time_steps),
            step_type=next_time_steps.step_type,
            training=False,
        )
        batch_size = logits.shape[0] or tf.shape(logits)[0]
        probabilities = tf.nn.softmax(logits)
        greedy = self._target_greedy_policy
        actions = greedy.action(
            next_time_steps, greedy.get_initial_state(batch_size)
        ).action
        rows = tf.range(tf.shape(probabilities)[0])
        index = tf.stack([rows, tf.cast(actions, tf.int32)], axis=-1)
        return tf.gather_nd(probabilities, index)


def project_distribution(
    supports: types.Tensor,
    weights: types.Tensor,
    target_support: types.Tensor,
    validate_args: bool = False,
) -> types.Tensor:
    """Projects distributions on `supports` onto the evenly spaced `target_support`.

    Each probability mass at a (clipped) point is split between the two
    nearest target atoms in proportion to closeness: target atom `z_j`
    receives `sum_i w_i * max(0, 1 - |clip(s_i) - z_j| / dz)`.

    Args:
      supports: `[B, N]` points the masses sit on.
      weights: `[B, N]` probability masses.
      target_support: `[M]` evenly spaced, increasing atoms.
      validate_args: check shapes and spacing at run time.

    Returns:
      `[B, M]` projected probabilities.
    """
    deltas = target_support[1:] - target_support[:-1]
    delta_z = deltas[0]
    supports.shape.assert_is_compatible_with(weights.shape)
    supports[0].shape.assert_is_compatible_with(target_support.shape)
    target_support.shape.assert_has_rank(1)
    checks = []
    if validate_args:
        checks = [
            tf.debugging.assert_equal(tf.shape(supports), tf.shape(weights)),
            tf.debugging.assert_equal(
                tf.shape(supports)[1], tf.shape(target_support)[0]
            ),
            tf.debugging.assert_positive(
                deltas, message="target_support must increase"
            ),
            tf.debugging.assert_near(
                deltas,
                tf.fill(tf.shape(deltas), delta_z),
                message="uneven target_support",
            ),
        ]
    with tf.control_dependencies(checks):
        clipped = tf.clip_by_value(supports, target_support[0], target_support[-1])
        # [B, 1, N] against [M, 1]: closeness of every point to every atom.
        closeness = tf.clip_by_value(
            1.0 - tf.abs(clipped[:, None, :] - target_support[:, None]) / delta_z,
            0.0,
            1.0,
        )
        return tf.reduce_sum(closeness * weights[:, None, :], axis=2)
