"""What DDPG, TD3 and SAC share: target networks, twin critics, policies, loss steps.

`ActorCriticAgent` is a `TFAgent` whose subclasses list their `(network,
target)` pairs in `_target_pairs()` and their critics in `_critics()`; it
copies the targets at `initialize()` and soft-updates them (each shared layer
once) with `_get_target_updater`, and its `_train` and `_loss` both run
`_critic_and_actor_losses` (SAC's adds the temperature's loss).
Feed-forward networks train on `[B, 2]` trajectories squeezed to `[B]`
transitions; recurrent ones on `[B, T]` sequences.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.networks import network
from policylib.policies import actor_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import target_networks

__all__ = [
    "ActorCriticAgent",
    "deterministic_actor_policies",
    "td_targets",
    "twin_critics",
]


def deterministic_actor_policies(
    time_step_spec: ts.TimeStep,
    action_spec: types.NestedTensorSpec,
    actor_network: network.Network,
    add_noise: Callable[[tf_policy.TFPolicy], tf_policy.TFPolicy],
) -> tuple[tf_policy.TFPolicy, tf_policy.TFPolicy]:
    """`(policy, collect_policy)` of a deterministic actor: the clipped actor,
    and `add_noise` of the unclipped one (the noise policy clips)."""

    def actor(clip: bool) -> actor_policy.ActorPolicy:
        return actor_policy.ActorPolicy(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            actor_network=actor_network,
            clip=clip,
        )

    return actor(clip=True), add_noise(actor(clip=False))


def twin_critics(
    critic_network: network.Network,
    critic_network_2: network.Network | None,
    target_critic_network: network.Network | None,
    target_critic_network_2: network.Network | None,
    input_spec: types.NestedTensorSpec | None,
) -> tuple[network.Network, network.Network, network.Network, network.Network]:
    """`(critic_1, critic_2, target_1, target_2)`, each built for `input_spec`
    (None: the network's own input spec).

    Without `critic_network_2` the second critic is a fresh copy of the first
    (and its target a copy of that, whatever `target_critic_network_2` is).
    """
    if critic_network_2 is None:
        critic_network_2 = critic_network.copy(name="CriticNetwork2")
        target_critic_network_2 = None
    target_1 = target_networks.create_target_network(
        critic_network, target_critic_network, input_spec, "TargetCriticNetwork1"
    )
    target_2 = target_networks.create_target_network(
        critic_network_2, target_critic_network_2, input_spec, "TargetCriticNetwork2"
    )
    return critic_network, critic_network_2, target_1, target_2


def td_targets(
    next_time_steps: ts.TimeStep,
    target_q_values: tf.Tensor,
    gamma: types.Float,
    reward_scale_factor: types.Float,
) -> tf.Tensor:
    """`reward_scale_factor * r + gamma * discount * target_q_values`, held
    constant for the gradient."""
    return tf.stop_gradient(
        reward_scale_factor * next_time_steps.reward
        + gamma * next_time_steps.discount * target_q_values
    )


def q_values_of(
    critics: Iterable[network.Network],
    inputs: types.NestedTensor,
    step_type: types.Tensor,
    training: bool,
) -> list[tf.Tensor]:
    """Each critic's Q-values of `(observation, action)` `inputs`."""
    return [
        critic(inputs, step_type=step_type, training=training)[0] for critic in critics
    ]


class ActorCriticAgent(tf_agent.TFAgent):
    """Base of the agents with an actor, critics and their target networks."""

    def _init_actor_critic(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        policy: tf_policy.TFPolicy,
        collect_policy: tf_policy.TFPolicy,
        recurrent_network: network.Network,
        **kwargs: Any,
    ) -> None:
        """`TFAgent.__init__` with the time length `recurrent_network` implies
        (2, or any for an RNN), and the matching transition converter."""
        stateful = bool(tf.nest.flatten(recurrent_network.state_spec))
        tf_agent.TFAgent.__init__(
            self,
            time_step_spec,
            action_spec,
            policy,
            collect_policy,
            train_sequence_length=None if stateful else 2,
            **kwargs,
        )
        self._as_transition = data_converter.AsTransition(
            self.data_context, squeeze_time_dim=not stateful
        )

    def _set_twin_critics(
        self,
        critic_network: network.Network,
        critic_network_2: network.Network | None,
        target_critic_network: network.Network | None,
        target_critic_network_2: network.Network | None,
        input_spec: types.NestedTensorSpec | None,
    ) -> None:
        """`_critic_network_1/2` and `_target_critic_network_1/2` from
        `twin_critics` (TD3, SAC)."""
        (
            self._critic_network_1,
            self._critic_network_2,
            self._target_critic_network_1,
            self._target_critic_network_2,
        ) = twin_critics(
            critic_network,
            critic_network_2,
            target_critic_network,
            target_critic_network_2,
            input_spec,
        )

    def _store_training_options(
        self,
        actor_optimizer: types.Optimizer | None,
        critic_optimizer: types.Optimizer | None,
        target_update_tau: types.Float,
        target_update_period: types.Int,
        td_errors_loss_fn: types.LossFn,
        gamma: types.Float,
        reward_scale_factor: types.Float,
        gradient_clipping: types.Float | None,
    ) -> None:
        """Keeps the options DDPG, TD3 and SAC share; builds the target updater
        (so the networks of `_target_pairs()` must exist)."""
        self._actor_optimizer = actor_optimizer
        self._critic_optimizer = critic_optimizer
        self._target_update_tau = target_update_tau
        self._target_update_period = target_update_period
        self._td_errors_loss_fn = td_errors_loss_fn
        self._gamma = gamma
        self._reward_scale_factor = reward_scale_factor
        self._gradient_clipping = gradient_clipping
        self._update_target = self._get_target_updater(
            target_update_tau, target_update_period
        )

    def _init_deterministic_actor(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        add_noise: Callable[[tf_policy.TFPolicy], tf_policy.TFPolicy],
        **kwargs: Any,
    ) -> None:
        """`_init_actor_critic` with `deterministic_actor_policies` of
        `self._actor_network` (DDPG, TD3)."""
        policy, collect_policy = deterministic_actor_policies(
            time_step_spec, action_spec, self._actor_network, add_noise
        )
        self._init_actor_critic(
            time_step_spec,
            action_spec,
            policy,
            collect_policy,
            recurrent_network=self._actor_network,
            **kwargs,
        )

    def _target_pairs(self) -> list[tuple[network.Network, network.Network]]:
        """The `(network, target_network)` pairs the agent keeps in step."""
        raise NotImplementedError

    def _initialize(self) -> None:
        target_networks.initialize_targets(self._target_pairs())

    def _get_target_updater(
        self, tau: types.Float = 1.0, period: types.Int = 1
    ) -> Callable[[], object]:
        """A callable soft-updating every target every `period` calls."""
        return target_networks.get_targets_updater(self._target_pairs(), tau, period)

    def _critic_and_actor_losses(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None,
        training: bool,
        minimize: bool,
    ) -> tf_agent.LossInfo:
        """`critic_loss` and `actor_loss` of `experience`, summed, with both in
        `_loss_info_type`; with `minimize`, each followed by its optimizer step
        (the actor's only where `_actor_update_condition()` holds)."""
        time_steps, policy_steps, next_time_steps = self._as_transition(experience)

        def critic() -> tf.Tensor:
            return self.critic_loss(
                time_steps,
                policy_steps.action,
                next_time_steps,
                weights=weights,
                training=training,
            )

        def actor() -> tf.Tensor:
            return self.actor_loss(time_steps, weights=weights, training=training)

        if not minimize:
            critic_loss, actor_loss = critic(), actor()
            tf.debugging.check_numerics(critic_loss, "Critic loss is inf or nan.")
            tf.debugging.check_numerics(actor_loss, "Actor loss is inf or nan.")
        else:
            actor_apply_when = self._actor_update_condition()
            critic_variables = [
                v for net in self._critics() for v in net.trainable_variables
            ]
            critic_loss = self._minimize(
                critic, critic_variables, self._critic_optimizer, "critic"
            )
            actor_loss = self._minimize(
                actor,
                self._actor_network.trainable_variables,
                self._actor_optimizer,
                "actor",
                apply_when=actor_apply_when,
            )
            self.train_step_counter.assign_add(1)
            self._update_target()
        return tf_agent.LossInfo(
            actor_loss + critic_loss,
            self._loss_info_type(actor_loss=actor_loss, critic_loss=critic_loss),
        )

    def _train(self, experience: Any, weights: Any = None) -> tf_agent.LossInfo:
        return self._critic_and_actor_losses(
            experience, weights, training=True, minimize=True
        )

    def _loss(
        self, experience: Any, weights: Any = None, training: bool = False
    ) -> tf_agent.LossInfo:
        return self._critic_and_actor_losses(
            experience, weights, training=training, minimize=False
        )

    def _critics(self) -> list[network.Network]:
        """The networks the critic optimizer trains."""
        raise NotImplementedError

    def _actor_update_condition(self) -> types.Bool | None:
        """Whether this train step updates the actor (None: always)."""
        return None

    # Defined by the subclasses.
    _actor_network: network.Network
    # The `extra` of `_critic_and_actor_losses`: fields `actor_loss`, `critic_loss`.
    _loss_info_type: ClassVar[Callable[..., tuple]]

    def critic_loss(self, *args: Any, **kwargs: Any) -> tf.Tensor:
        """The critics' TD loss (see the subclasses).

        Args (of every subclass):
          time_steps: `[B]` (or `[B, T]` for RNNs) time steps.
          actions: the actions taken in them.
          next_time_steps: the time steps that followed.
          weights: optional `[B]` or scalar weights of the per-example losses.
          training: passed to the critics (dropout, batch norm).
        """
        raise NotImplementedError

    def actor_loss(self, *args: Any, **kwargs: Any) -> tf.Tensor:
        raise NotImplementedError
