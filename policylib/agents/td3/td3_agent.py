"""`Td3Agent`: DDPG with twin critics, target smoothing and delayed actor updates.

    agent = td3_agent.Td3Agent(
        env.time_step_spec(), env.action_spec(),
        actor_network=actor_net, critic_network=critic_net,
        actor_optimizer=tf.keras.optimizers.Adam(1e-4),
        critic_optimizer=tf.keras.optimizers.Adam(1e-3),
        target_update_tau=0.005, actor_update_period=2)

The TD target takes the smaller of two target critics at a target action
perturbed by clipped Gaussian noise; the actor ascends the first critic every
`actor_update_period` steps. The collect policy adds Gaussian noise.
Fujimoto et al., 2018.
"""

from __future__ import annotations

import collections

import gin
import tensorflow as tf

from policylib.agents import actor_critic
from policylib.agents.ddpg import ddpg_agent
from policylib.networks import network
from policylib.policies import gaussian_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, target_networks

__all__ = ["Td3Agent", "Td3Info"]


class Td3Info(collections.namedtuple("Td3Info", ("actor_loss", "critic_loss"))):
    """The `extra` of a TD3 `LossInfo`."""


@gin.configurable
class Td3Agent(actor_critic.ActorCriticAgent):
    """A TD3 agent.

    Args: as `DdpgAgent`'s (the critic optimizer trains both critics), without
    the OU noise and `dqda_clipping`, plus:
      exploration_noise_std: scale of the collect policy's Gaussian noise.
      critic_network_2: the second critic (default: a copy of the first).
      target_critic_network_2: its target (default: a copy).
      actor_update_period: train steps between actor updates.
      target_policy_noise: scale of the noise on the target action.
      target_policy_noise_clip: that noise is clipped to `[-c, c]`.
    """

    _loss_info_type = Td3Info

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        actor_network: network.Network,
        critic_network: network.Network,
        actor_optimizer: types.Optimizer | None,
        critic_optimizer: types.Optimizer | None,
        exploration_noise_std: types.Float = 0.1,
        critic_network_2: network.Network | None = None,
        target_actor_network: network.Network | None = None,
        target_critic_network: network.Network | None = None,
        target_critic_network_2: network.Network | None = None,
        target_update_tau: types.Float = 1.0,
        target_update_period: types.Int = 1,
        actor_update_period: types.Int = 1,
        td_errors_loss_fn: types.LossFn | None = None,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        target_policy_noise: types.Float = 0.2,
        target_policy_noise_clip: types.Float = 0.5,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        # Each network is built for its own input spec (as TF-Agents' TD3 does).
        self._actor_network = actor_network
        self._target_actor_network = target_networks.create_target_network(
            actor_network, target_actor_network, None, "TargetActorNetwork"
        )
        self._set_twin_critics(
            critic_network,
            critic_network_2,
            target_critic_network,
            target_critic_network_2,
            None,
        )
        self._exploration_noise_std = exploration_noise_std
        self._actor_update_period = actor_update_period
        self._target_policy_noise = target_policy_noise
        self._target_policy_noise_clip = target_policy_noise_clip
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
            lambda actor: gaussian_policy.GaussianPolicy(
                actor, scale=exploration_noise_std, clip=True
            ),
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )

    def _target_pairs(self) -> list[tuple[network.Network, network.Network]]:
        return [
            (self._critic_network_1, self._target_critic_network_1),
            (self._critic_network_2, self._target_critic_network_2),
            (self._actor_network, self._target_actor_network),
        ]

    def _critics(self) -> list[network.Network]:
        return [self._critic_network_1, self._critic_network_2]

    def _actor_update_condition(self) -> types.Bool:
        return tf.equal(
            tf.math.mod(self.train_step_counter, self._actor_update_period), 0
        )

    def _smoothed_target_actions(
        self, next_time_steps: ts.TimeStep
    ) -> types.NestedTensor:
        """The target actor's actions plus clipped Gaussian noise (not clipped to spec)."""
        target_actions, _ = self._target_actor_network(
            next_time_steps.observation, next_time_steps.step_type, training=False
        )

        def add_noise(action: tf.Tensor) -> tf.Tensor:
            noise = tf.random.normal(
                tf.shape(action), stddev=self._target_policy_noise, dtype=action.dtype
            )
            clip = self._target_policy_noise_clip
            return action + tf.clip_by_value(noise, -clip, clip)

        return tf.nest.map_structure(add_noise, target_actions)

    def critic_loss(
        self,
        time_steps: ts.TimeStep,
        actions: types.Tensor,
        next_time_steps: ts.TimeStep,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """The sum of both critics' TD losses against the smaller target Q.

        Args: as `ActorCriticAgent.critic_loss`'s.
        """
        with tf.name_scope("critic_loss"):
            target_input = (
                next_time_steps.observation,
                self._smoothed_target_actions(next_time_steps),
            )
            target_q_1, target_q_2 = actor_critic.q_values_of(
                (self._target_critic_network_1, self._target_critic_network_2),
                target_input,
                next_time_steps.step_type,
                training=False,
            )
            td_targets = actor_critic.td_targets(
                next_time_steps,
                tf.minimum(target_q_1, target_q_2),
                self._gamma,
                self._reward_scale_factor,
            )
            q_1, q_2 = actor_critic.q_values_of(
                (self._critic_network_1, self._critic_network_2),
                (time_steps.observation, actions),
                time_steps.step_type,
                training=training,
            )
            if self._debug_summaries:
                step = self.train_step_counter
                common.generate_tensor_summaries("td_targets", td_targets, step)
                for i, q in enumerate((q_1, q_2), start=1):
                    with tf.name_scope(f"critic_net_{i}"):
                        common.generate_tensor_summaries(
                            "td_errors", td_targets - q, step
                        )
                        common.generate_tensor_summaries("pred_td_targets", q, step)
            per_example = self._td_errors_loss_fn(
                td_targets, q_1
            ) + self._td_errors_loss_fn(td_targets, q_2)
            return ddpg_agent.mean_loss_over_batch(
                per_example, time_steps, self.time_step_spec, weights
            )

    def actor_loss(
        self,
        time_steps: ts.TimeStep,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """`-Q_1(s, mu(s))`, averaged (summed over time for RNNs)."""
        with tf.name_scope("actor_loss"):
            actions, _ = self._actor_network(
                time_steps.observation, time_steps.step_type, training=training
            )
            q_values, _ = self._critic_network_1(
                (time_steps.observation, actions), time_steps.step_type, training=False
            )
            actor_loss = -q_values
            if actor_loss.shape.rank > 1:
                actor_loss = tf.reduce_sum(
                    actor_loss, axis=range(1, actor_loss.shape.rank)
                )
            actor_loss = common.aggregate_losses(
                per_example_loss=actor_loss, sample_weight=weights
            ).total_loss
            common.summarize_scalar_dict(
                {"actor_loss": actor_loss}, self.train_step_counter
            )
            return actor_loss
