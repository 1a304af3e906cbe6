"""`DqnAgent` and `DdqnAgent`: Q-learning with a target network.

    agent = dqn_agent.DqnAgent(
        env.time_step_spec(), env.action_spec(),
        q_network=q_network.QNetwork(obs_spec, action_spec, fc_layer_params=(100, 50)),
        optimizer=tf.keras.optimizers.Adam(1e-3),
        td_errors_loss_fn=common.element_wise_squared_loss,
        train_step_counter=tf.Variable(0))
    agent.initialize()
    dataset = buffer.as_dataset(sample_batch_size=64, num_steps=agent.train_sequence_length)

The loss is the TD error of `Q(s, a)` against `r + gamma * discount *
Q_target(s', argmax_a' Q_target(s', a'))` (Double DQN: the argmax uses the
online network), over n steps with `n_step_update`, masked where an episode
boundary makes the transition meaningless. Mnih et al., 2015; van Hasselt et
al., 2015.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.base import nest_utils
from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.policies import (
    boltzmann_policy,
    epsilon_greedy_policy,
    greedy_policy,
    q_policy,
    tf_policy,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["DdqnAgent", "DqnAgent", "DqnLossInfo", "compute_td_targets"]


class DqnLossInfo(collections.namedtuple("DqnLossInfo", ("td_loss", "td_error"))):
    """The `extra` of a DQN `LossInfo`, masked at episode boundaries.

    td_loss: the weighted per-example TD loss.
    td_error: the unweighted TD errors (`td_targets - q_values`), e.g. for
      prioritized replay (with a time axis for RNN networks).
    """


def compute_td_targets(
    next_q_values: types.Tensor, rewards: types.Tensor, discounts: types.Tensor
) -> types.Tensor:
    """`rewards + discounts * next_q_values`, without gradient."""
    return tf.stop_gradient(rewards + discounts * next_q_values)


@gin.configurable
class DqnAgent(tf_agent.TFAgent):
    """A DQN agent (n-step updates supported for feed-forward networks).

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: one scalar bounded discrete spec with minimum 0.
      q_network: a `Network` emitting one float Q value per action.
      optimizer: a Keras (2 or 3) optimizer or a `tf.compat.v1.train` one.
      observation_and_action_constraint_splitter: `obs -> (network_obs,
        mask)` for action masking.
      epsilon_greedy: exploration probability of the collect policy (a float
        or a callable returning one); None with `boltzmann_temperature`.
      n_step_update: steps per update; experience is `[B, n + 1]`.
      boltzmann_temperature: Boltzmann exploration instead of epsilon-greedy.
      emit_log_probability: policies emit log-probabilities in their info.
      target_q_network: the target network (default: a copy of `q_network`).
      target_update_tau: soft-update weight (1.0: copy).
      target_update_period: train steps between target updates.
      td_errors_loss_fn: `loss(td_targets, q_values)` per element (default
        Huber).
      gamma: discount of future rewards.
      reward_scale_factor: rewards are multiplied by this.
      gradient_clipping: if set, each gradient tensor is clipped to this norm
        (`tf.clip_by_norm` per variable, as TF-Agents does; not the global norm
        over all gradients that Stable-Baselines3 clips).
      debug_summaries: write TD error, loss and Q-value summaries.
      summarize_grads_and_vars: write gradient and variable summaries.
      train_step_counter: counts train steps (default: the global step).
      training_data_spec: what `train` reads, if not the collect data spec.
      name: the agent's name scope.

    Raises:
      ValueError: the action spec is not one scalar with minimum 0; both
        exploration kinds were configured; a Q network's output does not
        have one float per action.
      NotImplementedError: an RNN Q network with `n_step_update > 1`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        q_network: network.Network,
        optimizer: types.Optimizer,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        epsilon_greedy: types.FloatOrReturningFloat | None = 0.1,
        n_step_update: int = 1,
        boltzmann_temperature: types.FloatOrReturningFloat | None = None,
        emit_log_probability: bool = False,
        target_q_network: network.Network | None = None,
        target_update_tau: types.Float = 1.0,
        target_update_period: int = 1,
        td_errors_loss_fn: types.LossFn | None = None,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        training_data_spec: types.NestedTensorSpec | None = None,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        action_spec = tensor_spec.from_spec(action_spec)
        self._num_actions = _num_actions(action_spec)
        if epsilon_greedy is not None and boltzmann_temperature is not None:
            raise ValueError(
                f"Configured both epsilon_greedy value {epsilon_greedy} and temperature "
                f"{boltzmann_temperature}, however only one of them can be used for "
                "exploration."
            )
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._q_network = q_network
        network_observation_spec = time_step_spec.observation
        if observation_and_action_constraint_splitter is not None:
            network_observation_spec, _ = observation_and_action_constraint_splitter(
                network_observation_spec
            )
        q_network.create_variables(network_observation_spec)
        if target_q_network is not None:
            target_q_network.create_variables(network_observation_spec)
        self._target_q_network = common.maybe_copy_target_network_with_checks(
            q_network,
            target_q_network,
            input_spec=network_observation_spec,
            name="TargetQNetwork",
        )
        self._check_network_output(self._q_network, "q_network")
        self._check_network_output(self._target_q_network, "target_q_network")
        self._epsilon_greedy = epsilon_greedy
        self._n_step_update = n_step_update
        self._boltzmann_temperature = boltzmann_temperature
        self._optimizer = optimizer
        self._td_errors_loss_fn = td_errors_loss_fn or common.element_wise_huber_loss
        self._gamma = gamma
        self._reward_scale_factor = reward_scale_factor
        self._gradient_clipping = gradient_clipping
        self._update_target = common.get_target_updater(
            self._q_network,
            self._target_q_network,
            tau=target_update_tau,
            period=target_update_period,
        )
        policy, collect_policy = self._setup_policy(
            time_step_spec, action_spec, boltzmann_temperature, emit_log_probability
        )
        stateful = bool(tf.nest.flatten(q_network.state_spec))
        if stateful and n_step_update != 1:
            raise NotImplementedError(
                "DqnAgent does not currently support n-step updates with stateful "
                f"networks (i.e., RNNs), but n_step_update = {n_step_update}"
            )
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            collect_policy,
            train_sequence_length=None if stateful else n_step_update + 1,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            training_data_spec=training_data_spec,
        )
        self._as_transition: (
            data_converter.AsTransition | data_converter.AsNStepTransition
        )
        if stateful:
            self._as_transition = data_converter.AsTransition(
                self.data_context, squeeze_time_dim=False
            )
        else:
            self._as_transition = data_converter.AsNStepTransition(
                self.data_context, gamma=gamma, n=n_step_update
            )

    def _check_network_output(self, net: network.Network, label: str) -> None:
        """Raises ValueError unless `net` emits one float Q value per action."""
        network_utils.check_single_floating_network_output(
            net.create_variables(),
            expected_output_shape=(self._num_actions,),
            label=label,
        )

    def _setup_policy(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        boltzmann_temperature: types.Float | None,
        emit_log_probability: bool,
    ) -> tuple[tf_policy.TFPolicy, tf_policy.TFPolicy]:
        """The greedy policy, the exploring collect policy, and the target's greedy policy."""
        policy = q_policy.QPolicy(
            time_step_spec,
            action_spec,
            q_network=self._q_network,
            emit_log_probability=emit_log_probability,
            observation_and_action_constraint_splitter=(
                self._observation_and_action_constraint_splitter
            ),
        )
        collect_policy = self._exploring(policy, boltzmann_temperature)
        target_policy = q_policy.QPolicy(
            time_step_spec,
            action_spec,
            q_network=self._target_q_network,
            observation_and_action_constraint_splitter=(
                self._observation_and_action_constraint_splitter
            ),
        )
        self._target_greedy_policy = greedy_policy.GreedyPolicy(target_policy)
        return greedy_policy.GreedyPolicy(policy), collect_policy

    def _exploring(
        self, policy: tf_policy.TFPolicy, boltzmann_temperature: types.Float | None
    ) -> tf_policy.TFPolicy:
        """The collect policy: Boltzmann over `policy` at `boltzmann_temperature`
        if set, else epsilon-greedy."""
        if boltzmann_temperature is not None:
            return boltzmann_policy.BoltzmannPolicy(
                policy, temperature=boltzmann_temperature
            )
        return epsilon_greedy_policy.EpsilonGreedyPolicy(
            policy, epsilon=self._epsilon_greedy
        )

    def _initialize(self) -> None:
        common.soft_variables_update(
            self._q_network.variables, self._target_q_network.variables, tau=1.0
        )

    def _get_target_updater(
        self, tau: float = 1.0, period: int = 1
    ) -> Callable[..., object]:
        """A callable soft-updating the target network every `period` calls."""
        return common.get_target_updater(
            self._q_network, self._target_q_network, tau=tau, period=period
        )

    # ------------------------------------------------------------------------
    # Training

    def _train(self, experience: Any, weights: Any = None) -> tf_agent.LossInfo:
        with tf.GradientTape() as tape:
            loss_info = self._loss(
                experience,
                td_errors_loss_fn=self._td_errors_loss_fn,
                gamma=self._gamma,
                reward_scale_factor=self._reward_scale_factor,
                weights=weights,
                training=True,
            )
        self._apply_gradients(
            loss_info.loss, self._q_network.trainable_variables, tape, self._optimizer
        )
        self.train_step_counter.assign_add(1)
        self._update_target()
        return loss_info

    def _td_loss(
        self,
        q_values: tf.Tensor,
        next_q_values: tf.Tensor,
        rewards: types.Tensor,
        discounts: types.Tensor,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        td_targets = compute_td_targets(
            next_q_values, rewards=rewards, discounts=discounts
        )
        return self._td_errors_loss_fn(td_targets, q_values), td_targets - q_values

    def _loss(
        self,
        experience: types.NestedTensor,
        td_errors_loss_fn: types.LossFn | None = None,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The TD loss of a batch of experience.

        Args:
          experience: `Trajectory` `[B, n + 1]` (`[B, T]` for RNN networks) or
            `Transition`, per `training_data_spec`.
          td_errors_loss_fn: element-wise `loss(td_targets, q_values)`.
          gamma: discount of future rewards.
          reward_scale_factor: rewards are multiplied by this.
          weights: optional scalar or `[B]` weights of the per-example losses.
          training: passed to the Q network (dropout, batch norm).

        Returns:
          `LossInfo(total_loss, DqnLossInfo(td_loss, td_error))`.

        Raises:
          ValueError: `experience` does not fit the specs or time length.
        """
        transition = self._as_transition(experience)
        time_steps, policy_steps, next_time_steps = transition
        if td_errors_loss_fn is not None:
            self._td_errors_loss_fn = td_errors_loss_fn
        with tf.name_scope("loss"):
            q_values = self._compute_q_values(
                time_steps, policy_steps.action, training=training
            )
            next_q_values = self._compute_next_q_values(
                next_time_steps, policy_steps.info
            )
            td_loss, td_error = self._td_loss(
                q_values,
                next_q_values,
                rewards=reward_scale_factor * next_time_steps.reward,
                discounts=gamma * next_time_steps.discount,
            )
            valid = tf.cast(~time_steps.is_last(), tf.float32)
            td_error = valid * td_error
            td_loss = valid * td_loss
            if nest_utils.is_batched_nested_tensors(
                time_steps, self.time_step_spec, num_outer_dims=2
            ):
                td_loss = tf.reduce_sum(td_loss, axis=1)  # sum over time (RNN)
            aggregated = common.aggregate_losses(
                per_example_loss=td_loss,
                sample_weight=weights,
                regularization_loss=self._q_network.losses,
            )
            self._summarize_losses(aggregated, "td_loss")
            if self._debug_summaries:
                self._debug_summary(td_error, td_loss, q_values, next_q_values)
            return tf_agent.LossInfo(
                aggregated.total_loss, DqnLossInfo(td_loss=td_loss, td_error=td_error)
            )

    def _summarize_losses(
        self, aggregated: common.AggregatedLosses, loss_name: str
    ) -> None:
        """Scalar summaries of the weighted loss (as `loss_name`), regularization, total."""
        common.summarize_scalar_dict(
            {
                loss_name: aggregated.weighted,
                "reg_loss": aggregated.regularization,
                "total_loss": aggregated.total_loss,
            },
            step=self.train_step_counter,
            name_scope="Losses/",
        )

    def _debug_summary(
        self,
        td_error: tf.Tensor,
        td_loss: tf.Tensor,
        q: tf.Tensor,
        next_q: tf.Tensor,
    ) -> None:
        step = self.train_step_counter
        for tag, value in (
            ("td_error", td_error),
            ("td_loss", td_loss),
            ("q_values", q),
            ("next_q_values", next_q),
            ("diff_q_values", q - next_q),
        ):
            common.generate_tensor_summaries(tag, value, step)

    def _split(self, time_steps: ts.TimeStep) -> tuple[types.NestedTensor, Any]:
        """The network's observation and the action mask (None without a splitter)."""
        if self._observation_and_action_constraint_splitter is None:
            return time_steps.observation, None
        return self._observation_and_action_constraint_splitter(time_steps.observation)

    def _network_observation(self, time_steps: ts.TimeStep) -> types.NestedTensor:
        return self._split(time_steps)[0]

    def _compute_q_values(
        self, time_steps: ts.TimeStep, actions: types.Tensor, training: bool = False
    ) -> tf.Tensor:
        """`Q(s, a)` of the taken actions."""
        q_values, _ = self._q_network(
            self._network_observation(time_steps),
            step_type=time_steps.step_type,
            training=training,
        )
        return common.index_with_actions(
            q_values,
            tf.cast(actions, dtype=tf.int32),
            multi_dim_actions=self._action_spec.shape.rank > 0,
        )

    def _compute_next_q_values(
        self, next_time_steps: ts.TimeStep, info: types.NestedTensor
    ) -> tf.Tensor:
        """`Q_target(s', a*)`, `a*` greedy under the target network."""
        del info
        return self._next_q_values_under(self._target_greedy_policy, next_time_steps)

    def _next_q_values_under(
        self, greedy: tf_policy.TFPolicy, next_time_steps: ts.TimeStep
    ) -> tf.Tensor:
        """The target network's Q values of the actions `greedy` picks in `next_time_steps`."""
        observation, mask = self._split(next_time_steps)
        next_target_q_values, _ = self._target_q_network(
            observation, step_type=next_time_steps.step_type
        )
        if greedy is self._target_greedy_policy:
            # Its greedy action is the argmax of the Q values just computed: not
            # a second pass of the target network through the policy.
            q_values = next_target_q_values
            if mask is not None:
                q_values = q_policy.masked_logits(q_values, mask, q_values.dtype.min)
            actions = tf.argmax(q_values, axis=-1, output_type=tf.int32)
        else:
            batch_size = (
                next_target_q_values.shape[0] or tf.shape(next_target_q_values)[0]
            )
            actions = greedy.action(
                next_time_steps, greedy.get_initial_state(batch_size)
            ).action
        return common.index_with_actions(
            next_target_q_values,
            actions,
            multi_dim_actions=tf.nest.flatten(self._action_spec)[0].shape.rank > 0,
        )


@gin.configurable
class DdqnAgent(DqnAgent):
    """Double DQN: the online network picks the next action, the target rates it."""

    def _compute_next_q_values(
        self, next_time_steps: ts.TimeStep, info: types.NestedTensor
    ) -> tf.Tensor:
        del info
        return self._next_q_values_under(self._policy, next_time_steps)


def _num_actions(action_spec: types.NestedTensorSpec) -> int:
    """The number of discrete actions of a single scalar spec with minimum 0.

    Raises:
      ValueError: the spec is nested, not scalar, or its minimum is not 0.
    """
    flat = tf.nest.flatten(action_spec)
    if len(flat) > 1 or flat[0].shape.rank > 0:
        raise ValueError(
            f"Only scalar actions are supported now, but action spec is: {action_spec}"
        )
    spec = flat[0]
    if spec.minimum != 0:
        raise ValueError(f"Action specs should have minimum of 0, but saw: {spec}")
    return int(spec.maximum - spec.minimum + 1)
