"""What DDPG, TD3 and SAC share: target networks, twin critics, policies, loss steps.

`ActorCriticAgent` is a `TFAgent` whose subclasses list their `(network,
target)` pairs in `_target_pairs()`; it copies them at `initialize()` and
soft-updates them (each shared layer once) with `_get_target_updater`.
Feed-forward networks train on `[B, 2]` trajectories squeezed to `[B]`
transitions; recurrent ones on `[B, T]` sequences.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.networks import network
from policylib.policies import actor_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import target_networks

__all__ = ["ActorCriticAgent", "deterministic_actor_policies", "twin_critics"]


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
    input_spec: Any,
) -> tuple[Any, Any, Any, Any]:
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

    def _target_pairs(self) -> list[tuple[Any, Any]]:
        """The `(network, target_network)` pairs the agent keeps in step."""
        raise NotImplementedError

    def _initialize(self) -> None:
        target_networks.initialize_targets(self._target_pairs())

    def _get_target_updater(self, tau: types.Float = 1.0, period: types.Int = 1) -> Any:
        """A callable soft-updating every target every `period` calls."""
        return target_networks.get_targets_updater(self._target_pairs(), tau, period)

    def _critic_and_actor_losses(
        self,
        experience: Any,
        weights: Any,
        training: bool,
        minimize: bool,
        critic_variables: Any = None,
        actor_apply_when: Any = None,
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """`critic_loss` then `actor_loss` of `experience`; with `minimize`,
        each followed by its optimizer step (the actor's only where
        `actor_apply_when` holds, if given)."""
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
            return critic_loss, actor_loss
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
        return critic_loss, actor_loss

    # Defined by the subclasses.
    _actor_network: network.Network
    _actor_optimizer: Any
    _critic_optimizer: Any
    _update_target: Any

    def critic_loss(self, *args: Any, **kwargs: Any) -> tf.Tensor:
        raise NotImplementedError

    def actor_loss(self, *args: Any, **kwargs: Any) -> tf.Tensor:
        raise NotImplementedError
