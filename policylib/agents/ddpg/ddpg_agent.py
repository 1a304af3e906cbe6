"""`DdpgAgent`: deterministic policy gradients with a learned critic.

    agent = ddpg_agent.DdpgAgent(
        env.time_step_spec(), env.action_spec(),
        actor_network=actor_network.ActorNetwork(obs_spec, action_spec, (400, 300)),
        critic_network=critic_network.CriticNetwork(
            (obs_spec, action_spec), joint_fc_layer_params=(400, 300)),
        actor_optimizer=tf.keras.optimizers.Adam(1e-4),
        critic_optimizer=tf.keras.optimizers.Adam(1e-3),
        target_update_tau=0.005)

The critic regresses `Q(s, a)` onto `r + gamma * discount * Q'(s', mu'(s'))`
(primes: target networks); the actor follows the critic's action gradient
`dQ/da`. The collect policy adds Ornstein-Uhlenbeck noise. Lillicrap et al., 2015.
"""

from __future__ import annotations

import collections

import gin
import tensorflow as tf

from policylib.agents import actor_critic
from policylib.base import nest_utils
from policylib.networks import network
from policylib.policies import ou_noise_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, target_networks

__all__ = ["DdpgAgent", "DdpgInfo", "mean_loss_over_batch"]


class DdpgInfo(collections.namedtuple("DdpgInfo", ("actor_loss", "critic_loss"))):
    """The `extra` of a DDPG `LossInfo`."""


def mean_loss_over_batch(
    per_example_loss: tf.Tensor,
    time_steps: ts.TimeStep,
    time_step_spec: ts.TimeStep,
    weights: types.Tensor | None = None,
) -> tf.Tensor:
    """The weighted mean of a loss; a `[B, T, ...]` loss (RNN) is summed over time."""
    if nest_utils.is_batched_nested_tensors(
        time_steps, time_step_spec, num_outer_dims=2
    ):
        per_example_loss = tf.reduce_sum(per_example_loss, axis=1)
    if weights is not None:
        per_example_loss *= weights
    return tf.reduce_mean(per_example_loss)


@gin.configurable
class DdpgAgent(actor_critic.ActorCriticAgent):
    """A DDPG agent.

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: nest of bounded float action specs.
      actor_network: `observation -> action` (e.g. `ActorNetwork`).
      critic_network: `(observation, action) -> Q` (e.g. `CriticNetwork`).
      actor_optimizer: optimizer of the actor (Keras 2/3 or `tf.compat.v1`).
      critic_optimizer: optimizer of the critic.
      ou_stddev: standard deviation of the collect policy's OU noise.
      ou_damping: damping of the OU process.
      target_actor_network: the target actor (default: a copy of the actor).
      target_critic_network: the target critic (default: a copy).
      target_update_tau: soft-update weight of the targets (1.0: copy).
      target_update_period: train steps between target updates.
      dqda_clipping: clips `dQ/da` element-wise to `[-c, c]`, if set.
      td_errors_loss_fn: element-wise `loss(td_targets, q_values)` (Huber).
      gamma: discount of future rewards.
      reward_scale_factor: rewards are multiplied by this.
      gradient_clipping: if set, each gradient tensor is clipped to this norm
        (per variable, as TF-Agents does).
      debug_summaries: write TD error and Q-value summaries.
      summarize_grads_and_vars: write gradient and variable summaries.
      train_step_counter: counts train steps (default: the global step).
      name: the agent's name scope.
    """

    _loss_info_type = DdpgInfo

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        actor_network: network.Network,
        critic_network: network.Network,
        actor_optimizer: types.Optimizer | None = None,
        critic_optimizer: types.Optimizer | None = None,
        ou_stddev: types.Float = 1.0,
        ou_damping: types.Float = 1.0,
        target_actor_network: network.Network | None = None,
        target_critic_network: network.Network | None = None,
        target_update_tau: types.Float = 1.0,
        target_update_period: types.Int = 1,
        dqda_clipping: types.Float | None = None,
        td_errors_loss_fn: types.LossFn | None = None,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        observation_spec = time_step_spec.observation
        self._actor_network = actor_network
        self._target_actor_network = target_networks.create_target_network(
            actor_network, target_actor_network, observation_spec, "TargetActorNetwork"
        )
        self._critic_network = critic_network
        self._target_critic_network = target_networks.create_target_network(
            critic_network,
            target_critic_network,
            (observation_spec, action_spec),
            "TargetCriticNetwork",
        )
        self._ou_stddev = ou_stddev
        self._ou_damping = ou_damping
        self._dqda_clipping = dqda_clipping
        self._store_training_options(
            actor_optimizer,
            critic_optimizer,
            target_update_tau,
            target_update_period,
            td_errors_loss_fn or common.element_wise_huber_loss,
            gamma,
            reward_scale_factor,
            gradient_clipping,
        )
        self._init_deterministic_actor(
            time_step_spec,
            action_spec,
            lambda actor: ou_noise_policy.OUNoisePolicy(
                actor, ou_stddev=ou_stddev, ou_damping=ou_damping, clip=True
            ),
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )

    def _target_pairs(self) -> list[tuple[network.Network, network.Network]]:
        return [
            (self._critic_network, self._target_critic_network),
            (self._actor_network, self._target_actor_network),
        ]

    def _critics(self) -> list[network.Network]:
        return [self._critic_network]

    def critic_loss(
        self,
        time_steps: ts.TimeStep,
        actions: types.NestedTensor,
        next_time_steps: ts.TimeStep,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """The TD loss of the critic against the target networks' estimate.

        Args: as `ActorCriticAgent.critic_loss`'s.
        """
        with tf.name_scope("critic_loss"):
            target_actions, _ = self._target_actor_network(
                next_time_steps.observation,
                step_type=next_time_steps.step_type,
                training=False,
            )
            target_q_values, _ = self._target_critic_network(
                (next_time_steps.observation, target_actions),
                step_type=next_time_steps.step_type,
                training=False,
            )
            td_targets = actor_critic.td_targets(
                next_time_steps, target_q_values, self._gamma, self._reward_scale_factor
            )
            q_values, _ = self._critic_network(
                (time_steps.observation, actions),
                step_type=time_steps.step_type,
                training=training,
            )
            critic_loss = mean_loss_over_batch(
                self._td_errors_loss_fn(td_targets, q_values),
                time_steps,
                self.time_step_spec,
                weights,
            )
            common.summarize_scalar_dict(
                {"critic_loss": critic_loss}, self.train_step_counter
            )
            if self._debug_summaries:
                for tag, value in (
                    ("td_errors", td_targets - q_values),
                    ("td_targets", td_targets),
                    ("q_values", q_values),
                ):
                    common.generate_tensor_summaries(
                        tag, value, self.train_step_counter
                    )
            return critic_loss

    def actor_loss(
        self,
        time_steps: ts.TimeStep,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """The deterministic policy-gradient loss: each action moves along `dQ/da`.

        `0.5 * (stop_gradient(a + dQ/da) - a)^2` has gradient `-dQ/da` in `a`,
        so minimizing it ascends the critic (with `dqda_clipping` bounding the step).
        """
        with tf.name_scope("actor_loss"):
            actions, _ = self._actor_network(
                time_steps.observation,
                step_type=time_steps.step_type,
                training=training,
            )
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(actions)
                q_values, _ = self._critic_network(
                    (time_steps.observation, actions),
                    step_type=time_steps.step_type,
                    training=False,
                )
            flat_actions = tf.nest.flatten(actions)
            dqdas = tape.gradient([q_values], flat_actions)
            losses = []
            for dqda, action in zip(dqdas, flat_actions):
                if self._dqda_clipping is not None:
                    dqda = tf.clip_by_value(
                        dqda, -self._dqda_clipping, self._dqda_clipping
                    )
                per_example = common.element_wise_squared_loss(
                    tf.stop_gradient(dqda + action), action
                )
                losses.append(
                    mean_loss_over_batch(
                        per_example, time_steps, self.time_step_spec, weights
                    )
                )
            actor_loss = tf.add_n(losses)
            common.summarize_scalar_dict(
                {"actor_loss": actor_loss}, self.train_step_counter
            )
            return actor_loss
