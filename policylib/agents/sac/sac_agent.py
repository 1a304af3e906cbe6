"""`SacAgent`: soft actor-critic, maximum-entropy RL with twin critics.

    actor_net = actor_distribution_network.ActorDistributionNetwork(
        obs_spec, action_spec, fc_layer_params=(256, 256),
        continuous_projection_net=(
            tanh_normal_projection_network.TanhNormalProjectionNetwork))
    critic_net = critic_network.CriticNetwork(
        (obs_spec, action_spec), joint_fc_layer_params=(256, 256))
    agent = sac_agent.SacAgent(
        env.time_step_spec(), env.action_spec(),
        actor_network=actor_net, critic_network=critic_net,
        actor_optimizer=tf.keras.optimizers.Adam(3e-4),
        critic_optimizer=tf.keras.optimizers.Adam(3e-4),
        alpha_optimizer=tf.keras.optimizers.Adam(3e-4),
        target_update_tau=0.005, gamma=0.99)

Each step updates, in turn: both critics towards `r + gamma * discount *
(min Q'(s', a') - alpha * log pi(a'|s'))` with `a' ~ pi(s')`; the actor to
minimize `alpha * log pi(a|s) - min Q(s, a)`; and the temperature `alpha`
so that the policy's entropy tracks `target_entropy`. Haarnoja et al., 2018.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.agents import actor_critic, tf_agent
from policylib.base import nest_utils
from policylib.networks import network
from policylib.policies import actor_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat, summaries

__all__ = ["SacAgent", "SacLossInfo", "std_clip_transform"]


class SacLossInfo(
    collections.namedtuple("SacLossInfo", ("critic_loss", "actor_loss", "alpha_loss"))
):
    """The `extra` of a SAC `LossInfo` (each loss already weighted)."""


@gin.configurable
def std_clip_transform(stddevs: types.NestedTensor) -> types.NestedTensor:
    """`exp(clip(log_std, -20, 2))`: the std transform SAC's actors commonly use."""
    stddevs = tf.nest.map_structure(lambda t: tf.clip_by_value(t, -20, 2), stddevs)
    return tf.exp(stddevs)


# `(label, loss_fn, variables, optimizer)`: one loss of a train step.
_LossStep = tuple[
    str, Callable[[], tf.Tensor], Sequence[tf.Variable], types.Optimizer | None
]


def _sum_inner_dims(loss: tf.Tensor) -> tf.Tensor:
    """A per-example loss with any inner (time) dims summed."""
    if loss.shape.rank > 1:
        return tf.reduce_sum(loss, axis=range(1, loss.shape.rank))
    return loss


@gin.configurable
class SacAgent(actor_critic.ActorCriticAgent):
    """A SAC agent for continuous actions.

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: nest of bounded float action specs.
      critic_network: `(observation, action) -> Q` (e.g. `CriticNetwork`).
      actor_network: `observation -> action distribution` (e.g.
        `ActorDistributionNetwork` with a `TanhNormalProjectionNetwork`).
      actor_optimizer, critic_optimizer, alpha_optimizer: the optimizers
        (Keras 2/3 or `tf.compat.v1.train`).
      actor_loss_weight, critic_loss_weight, alpha_loss_weight: loss weights.
      actor_policy_ctor: builds the policies from the actor network.
      critic_network_2: the second critic (default: a copy of the first).
      target_critic_network, target_critic_network_2: the targets (default:
        copies).
      target_update_tau: soft-update weight of the targets (1.0: copy).
      target_update_period: train steps between target updates.
      td_errors_loss_fn: element-wise `loss(td_targets, q_values)`.
      gamma: discount of future rewards.
      reward_scale_factor: rewards are multiplied by this.
      initial_log_alpha: the temperature's initial log.
      use_log_alpha_in_alpha_loss: the temperature loss uses `log alpha`
        (else `alpha`).
      target_entropy: the entropy `alpha` steers to (default: minus half
        the number of action dimensions).
      gradient_clipping: if set, each gradient tensor is clipped to this norm
        (per variable, as TF-Agents does).
      debug_summaries: write TD error, log-probability and entropy summaries.
      summarize_grads_and_vars: write gradient and variable summaries.
      train_step_counter: counts train steps (default: the global step).
      name: the agent's name scope.

    Raises:
      NotImplementedError: a discrete (integer) action spec.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        critic_network: network.Network,
        actor_network: network.Network,
        actor_optimizer: types.Optimizer,
        critic_optimizer: types.Optimizer,
        alpha_optimizer: types.Optimizer,
        actor_loss_weight: types.Float = 1.0,
        critic_loss_weight: types.Float = 0.5,
        alpha_loss_weight: types.Float = 1.0,
        actor_policy_ctor: Callable[..., tf_policy.TFPolicy] = actor_policy.ActorPolicy,
        critic_network_2: network.Network | None = None,
        target_critic_network: network.Network | None = None,
        target_critic_network_2: network.Network | None = None,
        target_update_tau: types.Float = 1.0,
        target_update_period: types.Int = 1,
        td_errors_loss_fn: types.LossFn = tf.math.squared_difference,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        initial_log_alpha: types.Float = 0.0,
        use_log_alpha_in_alpha_loss: bool = True,
        target_entropy: types.Float | None = None,
        gradient_clipping: types.Float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        self._check_action_spec(action_spec)
        observation_spec = time_step_spec.observation
        critic_spec = (observation_spec, action_spec)
        if critic_network_2 is None:
            critic_network_2 = critic_network.copy(name="CriticNetwork2")
            target_critic_network_2 = None
        # Both critics are built before either target is copied (TD3 builds
        # each critic's target in turn): TF-Agents' order, so that seeded
        # initializers give TF-Agents' initial weights.
        critic_network.create_variables(critic_spec)
        critic_network_2.create_variables(critic_spec)
        self._set_twin_critics(
            critic_network,
            critic_network_2,
            target_critic_network,
            target_critic_network_2,
            critic_spec,
        )
        if actor_network:
            actor_network.create_variables(observation_spec)
        self._actor_network = actor_network
        policy = actor_policy_ctor(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            actor_network=actor_network,
            training=False,
        )
        self._train_policy = actor_policy_ctor(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            actor_network=actor_network,
            training=True,
        )
        self._log_alpha = common.create_variable(
            "initial_log_alpha",
            initial_value=initial_log_alpha,
            dtype=tf.float32,
            trainable=True,
        )
        if target_entropy is None:
            target_entropy = self._get_default_target_entropy(action_spec)
        self._use_log_alpha_in_alpha_loss = use_log_alpha_in_alpha_loss
        # tf-keras optimizers run as their fused legacy twins, as in TF-Agents.
        actor_optimizer = keras_compat.legacy_optimizer(actor_optimizer)
        critic_optimizer = keras_compat.legacy_optimizer(critic_optimizer)
        self._alpha_optimizer = keras_compat.legacy_optimizer(alpha_optimizer)
        self._actor_loss_weight = actor_loss_weight
        self._critic_loss_weight = critic_loss_weight
        self._alpha_loss_weight = alpha_loss_weight
        self._target_entropy = target_entropy
        self._store_training_options(
            actor_optimizer,
            critic_optimizer,
            target_update_tau,
            target_update_period,
            td_errors_loss_fn,
            gamma,
            reward_scale_factor,
            gradient_clipping,
        )
        self._init_actor_critic(
            time_step_spec,
            action_spec,
            policy,
            policy,
            recurrent_network=critic_network,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )

    def _check_action_spec(self, action_spec: types.NestedTensorSpec) -> None:
        for path, spec in nest_utils.flatten_with_joined_paths(action_spec):
            if spec.dtype.is_integer:
                raise NotImplementedError(
                    "SacAgent does not currently support discrete actions; the "
                    f"action spec at {path or '<root>'} is {spec}. Action spec: "
                    f"{action_spec}"
                )

    def _get_default_target_entropy(self, action_spec: types.NestedTensorSpec) -> float:
        """Minus half the total number of action dimensions."""
        dims = [np.prod(spec.shape.as_list()) for spec in tf.nest.flatten(action_spec)]
        return -float(np.sum(dims)) / 2.0

    def _target_pairs(self) -> list[tuple[network.Network, network.Network]]:
        return [
            (self._critic_network_1, self._target_critic_network_1),
            (self._critic_network_2, self._target_critic_network_2),
        ]

    def _critics(self) -> list[network.Network]:
        return [self._critic_network_1, self._critic_network_2]

    # ------------------------------------------------------------------------
    # Training

    def _critic_and_actor_losses(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None,
        training: bool,
        minimize: bool,
    ) -> tf_agent.LossInfo:
        """The three weighted losses; with `minimize`, each followed by its
        step, then the train step count and the target update."""
        time_steps, policy_steps, next_time_steps = self._as_transition(experience)

        def critic() -> tf.Tensor:
            return self._critic_loss_weight * self.critic_loss(
                time_steps,
                policy_steps.action,
                next_time_steps,
                td_errors_loss_fn=self._td_errors_loss_fn,
                gamma=self._gamma,
                reward_scale_factor=self._reward_scale_factor,
                weights=weights,
                training=training,
            )

        def actor() -> tf.Tensor:
            return self._actor_loss_weight * self.actor_loss(
                time_steps, weights=weights, training=training
            )

        def alpha() -> tf.Tensor:
            return self._alpha_loss_weight * self.alpha_loss(
                time_steps, weights=weights, training=training
            )

        steps: list[_LossStep] = [
            (
                "critic",
                critic,
                [v for net in self._critics() for v in net.trainable_variables],
                self._critic_optimizer,
            ),
            (
                "actor",
                actor,
                self._actor_network.trainable_variables,
                self._actor_optimizer,
            ),
            ("alpha", alpha, [self._log_alpha], self._alpha_optimizer),
        ]
        losses = self._run_loss_steps(steps, minimize)
        common.summarize_scalar_dict(
            {f"{label}_loss": loss for label, loss in losses.items()},
            self.train_step_counter,
            name_scope="Losses",
        )
        if minimize:
            self.train_step_counter.assign_add(1)
            self._update_target()
        return tf_agent.LossInfo(
            loss=losses["critic"] + losses["actor"] + losses["alpha"],
            extra=SacLossInfo(
                critic_loss=losses["critic"],
                actor_loss=losses["actor"],
                alpha_loss=losses["alpha"],
            ),
        )

    def _run_loss_steps(
        self, steps: Sequence[_LossStep], minimize: bool
    ) -> dict[str, tf.Tensor]:
        """Each step's loss by label, in order; with `minimize`, each loss is
        followed by its optimizer step (so later losses see the update)."""
        losses = {}
        for label, loss_fn, variables, optimizer in steps:
            if minimize:
                losses[label] = self._minimize(loss_fn, variables, optimizer, label)
            else:
                losses[label] = loss_fn()
                tf.debugging.check_numerics(
                    losses[label], f"{label.capitalize()} loss is inf or nan."
                )
        return losses

    def _action_distribution(
        self, time_steps: ts.TimeStep, training: bool = False
    ) -> types.NestedDistribution:
        """The actor's action distribution at `time_steps` (train policy if
        `training`)."""
        batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
        policy = self._train_policy if training else self._policy
        return policy.distribution(
            time_steps, policy_state=self._train_policy.get_initial_state(batch_size)
        ).action

    def _sample_actions(
        self, distribution: types.NestedDistribution
    ) -> types.NestedTensor:
        """One action from each leaf of `distribution`; subclasses may seed it."""
        return tf.nest.map_structure(lambda d: d.sample(), distribution)

    def _actions_and_log_probs(
        self, time_steps: ts.TimeStep, training: bool = False
    ) -> tuple[types.NestedTensor, tf.Tensor]:
        """Actions sampled from the actor and their log-probabilities."""
        distribution = self._action_distribution(time_steps, training)
        actions = self._sample_actions(distribution)
        return actions, common.log_probability(distribution, actions, self.action_spec)

    def _td_targets(
        self,
        next_time_steps: ts.TimeStep,
        target_q_values: tf.Tensor,
        next_log_pis: tf.Tensor,
        gamma: types.Float,
        reward_scale_factor: types.Float,
    ) -> tf.Tensor:
        """The critics' regression targets: the scaled reward plus the
        discounted soft value `min Q'(s', a') - alpha * log pi(a'|s')`."""
        soft_values = target_q_values - tf.exp(self._log_alpha) * next_log_pis
        return actor_critic.td_targets(
            next_time_steps, soft_values, gamma, reward_scale_factor
        )

    def _min_q_values(
        self, time_steps: ts.TimeStep, actions: types.NestedTensor
    ) -> tf.Tensor:
        """`min(Q1, Q2)` of the (non-target) critics at `actions`."""
        q_1, q_2 = actor_critic.q_values_of(
            (self._critic_network_1, self._critic_network_2),
            (time_steps.observation, actions),
            time_steps.step_type,
            training=False,
        )
        return tf.minimum(q_1, q_2)

    def critic_loss(
        self,
        time_steps: ts.TimeStep,
        actions: types.Tensor,
        next_time_steps: ts.TimeStep,
        td_errors_loss_fn: types.LossFn,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """Both critics' TD losses against the soft target of the target critics.

        Args:
          time_steps: as in `ActorCriticAgent.critic_loss`.
          actions: as in `ActorCriticAgent.critic_loss`.
          next_time_steps: as in `ActorCriticAgent.critic_loss`.
          td_errors_loss_fn: element-wise `loss(td_targets, q_values)`.
          gamma: the discount.
          reward_scale_factor: rewards are multiplied by this.
          weights: as in `ActorCriticAgent.critic_loss`.
          training: as in `ActorCriticAgent.critic_loss`.

        Raises:
          ValueError: the actions or time steps do not have the specs' structure.
        """
        with tf.name_scope("critic_loss"):
            nest_utils.assert_same_structure(actions, self.action_spec)
            nest_utils.assert_same_structure(time_steps, self.time_step_spec)
            nest_utils.assert_same_structure(next_time_steps, self.time_step_spec)
            next_actions, next_log_pis = self._actions_and_log_probs(
                next_time_steps, training=False
            )
            target_input = (next_time_steps.observation, next_actions)
            target_q_1, target_q_2 = actor_critic.q_values_of(
                (self._target_critic_network_1, self._target_critic_network_2),
                target_input,
                next_time_steps.step_type,
                training=False,
            )
            td_targets = self._td_targets(
                next_time_steps,
                tf.minimum(target_q_1, target_q_2),
                next_log_pis,
                gamma,
                reward_scale_factor,
            )
            q_1, q_2 = actor_critic.q_values_of(
                (self._critic_network_1, self._critic_network_2),
                (time_steps.observation, actions),
                time_steps.step_type,
                training=training,
            )
            per_example = td_errors_loss_fn(td_targets, q_1) + td_errors_loss_fn(
                td_targets, q_2
            )
            if self._debug_summaries:
                step = self.train_step_counter
                common.generate_tensor_summaries(
                    "td_errors",
                    tf.concat([td_targets - q_1, td_targets - q_2], 0),
                    step,
                )
                common.generate_tensor_summaries("td_targets", td_targets, step)
                common.generate_tensor_summaries("pred_td_targets1", q_1, step)
                common.generate_tensor_summaries("pred_td_targets2", q_2, step)
            return common.aggregate_losses(
                per_example_loss=_sum_inner_dims(per_example),
                sample_weight=weights,
                regularization_loss=(
                    self._critic_network_1.losses + self._critic_network_2.losses
                ),
            ).total_loss

    def actor_loss(
        self,
        time_steps: ts.TimeStep,
        weights: types.Tensor | None = None,
        training: bool | None = True,
    ) -> tf.Tensor:
        """`alpha * log pi(a|s) - min Q(s, a)` at actions sampled from the actor."""
        with tf.name_scope("actor_loss"):
            nest_utils.assert_same_structure(time_steps, self.time_step_spec)
            return self._entropy_regularized_actor_loss(
                time_steps,
                weights,
                bool(training),
                lambda actions: self._min_q_values(time_steps, actions),
            )

    def _entropy_regularized_actor_loss(
        self,
        time_steps: ts.TimeStep,
        weights: types.Tensor | None,
        training: bool,
        value_of: Callable[[types.NestedTensor], tf.Tensor],
    ) -> tf.Tensor:
        """`alpha * log pi(a|s) - value_of(a)` at actions `a` sampled from the
        actor, aggregated with the actor's regularization losses."""
        actions, log_pi = self._actions_and_log_probs(time_steps, training=training)
        values = value_of(actions)
        per_example = tf.exp(self._log_alpha) * log_pi - values
        actor_loss = common.aggregate_losses(
            per_example_loss=_sum_inner_dims(per_example),
            sample_weight=weights,
            regularization_loss=(
                self._actor_network.losses if self._actor_network else None
            ),
        ).total_loss
        if self._debug_summaries:
            self._actor_debug_summaries(actor_loss, actions, log_pi, values, time_steps)
        return actor_loss

    def alpha_loss(
        self,
        time_steps: ts.TimeStep,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """Moves `alpha` up when the policy's entropy is below `target_entropy`."""
        with tf.name_scope("alpha_loss"):
            nest_utils.assert_same_structure(time_steps, self.time_step_spec)
            _, log_pi = self._actions_and_log_probs(time_steps, training=False)
            entropy_diff = tf.stop_gradient(-log_pi - self._target_entropy)
            alpha = (
                self._log_alpha
                if self._use_log_alpha_in_alpha_loss
                else tf.exp(self._log_alpha)
            )
            alpha_loss = common.aggregate_losses(
                per_example_loss=_sum_inner_dims(alpha * entropy_diff),
                sample_weight=weights,
            ).total_loss
            if self._debug_summaries:
                step = self.train_step_counter
                common.generate_tensor_summaries("alpha_loss", alpha_loss, step)
                common.generate_tensor_summaries("entropy_diff", entropy_diff, step)
                summaries.scalar(name="log_alpha", data=self._log_alpha, step=step)
            return alpha_loss

    def _actor_debug_summaries(
        self,
        actor_loss: tf.Tensor,
        actions: types.NestedTensor,
        log_pi: tf.Tensor,
        target_q_values: tf.Tensor,
        time_steps: ts.TimeStep,
    ) -> None:
        step = self.train_step_counter
        common.generate_tensor_summaries("actor_loss", actor_loss, step)
        for name, action in nest_utils.flatten_with_joined_paths(actions):
            common.generate_tensor_summaries(name, action, step)
        common.generate_tensor_summaries("log_pi", log_pi, step)
        summaries.scalar(name="entropy_avg", data=-tf.reduce_mean(log_pi), step=step)
        common.generate_tensor_summaries("target_q_values", target_q_values, step)
        batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
        distribution = self._train_policy.distribution(
            time_steps, self._train_policy.get_initial_state(batch_size)
        ).action
        if isinstance(distribution, tfp.distributions.Normal):
            common.generate_tensor_summaries("act_mean", distribution.loc, step)
            common.generate_tensor_summaries("act_stddev", distribution.scale, step)
        for name, leaf in nest_utils.flatten_with_joined_paths(distribution):
            try:
                common.generate_tensor_summaries(
                    "entropy_" + name, leaf.entropy(), step
                )
            except NotImplementedError:
                pass  # no analytic entropy (e.g. a squashed Normal)
