"""The terms of PPO's loss, and their sum, as `PPOLossTerms` methods.

`PPOAgent` inherits them. Each term decides by itself whether it is on (its
weight or coefficient above zero) and returns a zero scalar when it is off,
so `get_loss` adds them up without checks of its own; the clip fraction is
returned with the policy-gradient loss, not kept on the agent.
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

import tensorflow as tf

from policylib.agents import tf_agent
from policylib.agents.ppo import ppo_utils
from policylib.base import nest_utils
from policylib.networks import network
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, summaries

if TYPE_CHECKING:
    from policylib.agents.ppo import ppo_policy

__all__ = ["PPOLossInfo", "PPOLossTerms"]


class PPOLossInfo(
    collections.namedtuple(
        "PPOLossInfo",
        (
            "policy_gradient_loss",
            "value_estimation_loss",
            "l2_regularization_loss",
            "entropy_regularization_loss",
            "kl_penalty_loss",
            "clip_fraction",
        ),
    )
):
    """The `extra` of a PPO `LossInfo` (of the last epoch)."""


def _zero(name: str) -> tf.Tensor:
    """The value of a loss term that is switched off."""
    return tf.constant(0.0, dtype=tf.float32, name=name)


class PPOLossTerms(tf_agent.TFAgent):
    """PPO's loss terms over the options `PPOAgent.__init__` stores."""

    # Set by `PPOAgent.__init__`.
    _actor_net: network.Network
    _value_net: network.Network
    _collect_policy: ppo_policy.PPOPolicy
    _action_distribution_spec: types.NestedSpec
    _importance_ratio_clipping: types.Float
    _entropy_regularization: types.Float
    _policy_l2_reg: types.Float
    _value_function_l2_reg: types.Float
    _shared_vars_l2_reg: types.Float
    _value_pred_loss_coef: types.Float
    _log_prob_clipping: types.Float
    _kl_cutoff_factor: types.Float
    _kl_cutoff_coef: types.Float
    _adaptive_kl_target: types.Float
    _adaptive_kl_beta: tf.Variable | None
    _value_clipping: types.Float
    _check_numerics: bool
    _aggregate_losses_across_replicas: bool

    def _histogram(self, name: str, data: types.Tensor) -> None:
        summaries.histogram(name=name, data=data, step=self.train_step_counter)

    def _scalar(self, name: str, data: types.Tensor | float) -> None:
        summaries.scalar(name=name, data=data, step=self.train_step_counter)

    def _checked(self, value: tf.Tensor, name: str) -> tf.Tensor:
        if self._check_numerics:
            return tf.debugging.check_numerics(value, name)
        return value

    def _checked_and_logged(
        self, loss: tf.Tensor, check_name: str, histogram_name: str, log: bool
    ) -> tf.Tensor:
        """`loss`, numerics-checked if asked, and its histogram if `log`."""
        loss = self._checked(loss, check_name)
        if log:
            self._histogram(histogram_name, loss)
        return loss

    def _aggregate(self, per_example: tf.Tensor, weights: tf.Tensor) -> tf.Tensor:
        """Mean of weighted per-example losses (over the global batch if asked)."""
        if self._aggregate_losses_across_replicas:
            return common.aggregate_losses(
                per_example_loss=per_example, sample_weight=weights
            ).total_loss
        return tf.reduce_mean(per_example * weights)

    def get_loss(
        self,
        time_steps: ts.TimeStep,
        actions: types.NestedTensorSpec,
        act_log_probs: types.Tensor,
        returns: types.Tensor,
        normalized_advantages: types.Tensor,
        action_distribution_parameters: types.NestedTensor,
        weights: types.Tensor,
        train_step: tf.Variable,
        debug_summaries: bool,
        old_value_predictions: types.Tensor | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The total PPO loss of `[B, T]` experience and its terms.

        Args:
          time_steps: the time steps acted in.
          actions: the actions taken.
          act_log_probs: their log-probabilities under the collect policy.
          returns: the (possibly TD-lambda) returns.
          normalized_advantages: the standardized advantages.
          action_distribution_parameters: the collect policy's `dist_params`.
          weights: per-step weights (0 for invalid steps).
          train_step: unused (the agent's counter is used for summaries).
          debug_summaries: write debug summaries.
          old_value_predictions: the collect-time values (for value clipping).
          training: passed to the networks.
        """
        del train_step
        batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
        current_distribution = self._collect_policy._distribution(
            time_steps,
            self._collect_policy.get_initial_state(batch_size),
            training=training,
        ).action
        value_estimation_loss = self.value_estimation_loss(
            time_steps=time_steps,
            returns=returns,
            old_value_predictions=old_value_predictions,
            weights=weights,
            debug_summaries=debug_summaries,
            training=training,
        )
        policy_gradient_loss, clip_fraction = self._policy_gradient_loss_and_clip(
            time_steps,
            actions,
            tf.stop_gradient(act_log_probs),
            tf.stop_gradient(normalized_advantages),
            current_distribution,
            weights,
            debug_summaries=debug_summaries,
        )
        l2_regularization_loss = self.l2_regularization_loss(debug_summaries)
        with tf.name_scope("entropy_regularization"):
            outer_rank = nest_utils.get_outer_rank(time_steps, self.time_step_spec)
            entropy = common.entropy(current_distribution, self.action_spec, outer_rank)
            entropy = (
                tf.zeros_like(weights, tf.float32)
                if entropy is None
                else tf.cast(entropy, tf.float32)
            )
        entropy_regularization_loss = self.entropy_regularization_loss(
            time_steps, entropy, weights, debug_summaries
        )
        with tf.name_scope("Losses/"):
            self._scalar("entropy", tf.reduce_mean(entropy * weights))
        kl_penalty_loss = self.kl_penalty_loss(
            time_steps,
            action_distribution_parameters,
            current_distribution,
            weights,
            debug_summaries,
        )
        total_loss = (
            policy_gradient_loss
            + value_estimation_loss
            + l2_regularization_loss
            + entropy_regularization_loss
            + kl_penalty_loss
        )
        return tf_agent.LossInfo(
            total_loss,
            PPOLossInfo(
                policy_gradient_loss=policy_gradient_loss,
                value_estimation_loss=value_estimation_loss,
                l2_regularization_loss=l2_regularization_loss,
                entropy_regularization_loss=entropy_regularization_loss,
                kl_penalty_loss=kl_penalty_loss,
                clip_fraction=clip_fraction,
            ),
        )

    def l2_regularization_loss(self, debug_summaries: bool = False) -> tf.Tensor:
        """Weighted squared norms of the actor's, the value net's and shared kernels."""
        if not (
            self._policy_l2_reg > 0
            or self._value_function_l2_reg > 0
            or self._shared_vars_l2_reg > 0
        ):
            return _zero("zero_l2_loss")
        with tf.name_scope("l2_regularization"):
            policy_only, value_only, shared = ppo_utils.split_shared_variables(
                (v for v in self._actor_net.trainable_variables if "kernel" in v.name),
                (v for v in self._value_net.trainable_variables if "kernel" in v.name),
            )
            losses = [
                common.aggregate_losses(regularization_loss=tf.square(v)).regularization
                * weight
                for group, weight in (
                    (policy_only, self._policy_l2_reg),
                    (value_only, self._value_function_l2_reg),
                    (shared, self._shared_vars_l2_reg),
                )
                for v in group
            ]
            return self._checked_and_logged(
                tf.add_n(losses, name="l2_loss"),
                "total_l2_loss",
                "l2_loss",
                debug_summaries,
            )

    def entropy_regularization_loss(
        self,
        time_steps: ts.TimeStep,
        entropy: types.Tensor,
        weights: types.Tensor,
        debug_summaries: bool = False,
    ) -> tf.Tensor:
        """Minus the weighted mean entropy times `entropy_regularization`."""
        if self._entropy_regularization <= 0:
            return _zero("zero_entropy_reg_loss")
        nest_utils.assert_same_structure(time_steps, self.time_step_spec)
        with tf.name_scope("entropy_regularization"):
            return self._checked_and_logged(
                self._aggregate(-entropy, weights) * self._entropy_regularization,
                "entropy_reg_loss",
                "entropy_reg_loss",
                debug_summaries,
            )

    def value_estimation_loss(
        self,
        time_steps: ts.TimeStep,
        returns: types.Tensor,
        weights: types.Tensor,
        old_value_predictions: types.Tensor | None = None,
        debug_summaries: bool = False,
        training: bool = False,
    ) -> tf.Tensor:
        """`value_pred_loss_coef` times the weighted squared value error.

        Raises:
          ValueError: value clipping without `old_value_predictions`.
        """
        if debug_summaries:
            flat_observations = tf.nest.flatten(time_steps.observation)
            for i, observation in enumerate(flat_observations):
                self._histogram(
                    f"observations_{i}"
                    if len(flat_observations) != 1
                    else "observations",
                    observation,
                )
        batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
        value_preds, _ = self._collect_policy.apply_value_network(
            time_steps.observation,
            time_steps.step_type,
            value_state=self._collect_policy.get_initial_value_state(batch_size),
            training=training,
        )
        error = tf.math.squared_difference(returns, value_preds)
        if self._value_clipping > 0:
            if old_value_predictions is None:
                raise ValueError(
                    "old_value_predictions is None but needed for value clipping."
                )
            clipped = old_value_predictions + tf.clip_by_value(
                value_preds - old_value_predictions,
                -self._value_clipping,
                self._value_clipping,
            )
            error = tf.maximum(error, tf.math.squared_difference(returns, clipped))
        loss = self._aggregate(error, weights) * self._value_pred_loss_coef
        if debug_summaries:
            self._scalar("value_pred_avg", tf.reduce_mean(value_preds))
            self._scalar("value_actual_avg", tf.reduce_mean(returns))
            self._scalar("value_estimation_loss", loss)
            self._histogram("value_preds", value_preds)
            self._histogram("value_estimation_error", error)
        return self._checked(loss, "value_estimation_loss")

    def policy_gradient_loss(
        self,
        time_steps: ts.TimeStep,
        actions: types.NestedTensor,
        sample_action_log_probs: types.Tensor,
        advantages: types.Tensor,
        current_policy_distribution: types.NestedDistribution,
        weights: types.Tensor,
        debug_summaries: bool = False,
    ) -> tf.Tensor:
        """Minus the (clipped) importance-weighted advantage, weighted and averaged."""
        loss, _ = self._policy_gradient_loss_and_clip(
            time_steps,
            actions,
            sample_action_log_probs,
            advantages,
            current_policy_distribution,
            weights,
            debug_summaries,
        )
        return loss

    def _policy_gradient_loss_and_clip(
        self,
        time_steps: ts.TimeStep,
        actions: types.NestedTensor,
        sample_action_log_probs: types.Tensor,
        advantages: types.Tensor,
        current_policy_distribution: types.NestedDistribution,
        weights: types.Tensor,
        debug_summaries: bool = False,
    ) -> tuple[tf.Tensor, tf.Tensor | float]:
        """`policy_gradient_loss` and the fraction of ratios outside the clip
        range (0.0 without clipping)."""
        nest_utils.assert_same_structure(time_steps, self.time_step_spec)
        log_prob = tf.cast(
            common.log_probability(
                current_policy_distribution, actions, self._action_spec
            ),
            tf.float32,
        )
        if self._log_prob_clipping > 0.0:
            log_prob = tf.clip_by_value(
                log_prob, -self._log_prob_clipping, self._log_prob_clipping
            )
        log_prob = self._checked(log_prob, "action_log_prob")
        ratio = self._checked(
            tf.exp(log_prob - sample_action_log_probs), "importance_ratio"
        )
        clipping = self._importance_ratio_clipping
        ratio_clipped = tf.clip_by_value(ratio, 1 - clipping, 1 + clipping)
        if clipping > 0.0:
            ratio_clipped = self._checked(ratio_clipped, "importance_ratio_clipped")
        objective = ratio * advantages
        objective_clipped = ratio_clipped * advantages
        objective_min = tf.minimum(objective, objective_clipped)
        per_step_loss = -objective_min if clipping > 0.0 else -objective
        loss = self._aggregate(per_step_loss, weights)
        clip_fraction: tf.Tensor | float = 0.0
        if clipping > 0.0:
            clip_fraction = tf.reduce_mean(
                tf.cast(tf.greater(tf.abs(ratio - 1.0), clipping), tf.float32)
            )
        if debug_summaries:
            self._policy_gradient_summaries(
                clip_fraction,
                ratio,
                ratio_clipped,
                log_prob,
                sample_action_log_probs,
                (objective, objective_clipped, objective_min),
                current_policy_distribution,
                loss,
            )
        return self._checked(loss, "policy_gradient_loss"), clip_fraction

    def _policy_gradient_summaries(
        self,
        clip_fraction: tf.Tensor | float,
        ratio: tf.Tensor,
        ratio_clipped: tf.Tensor,
        log_prob: tf.Tensor,
        sample_log_prob: tf.Tensor,
        objectives: tuple[tf.Tensor, tf.Tensor, tf.Tensor],
        distribution: types.NestedDistribution,
        loss: tf.Tensor,
    ) -> None:
        if self._importance_ratio_clipping > 0.0:
            self._scalar("clip_fraction", clip_fraction)
        self._scalar("importance_ratio_mean", tf.reduce_mean(ratio))
        entropy = common.entropy(distribution, self.action_spec)
        self._scalar("policy_entropy_mean", tf.reduce_mean(entropy))
        for name, value in (
            ("action_log_prob", log_prob),
            ("action_log_prob_sample", sample_log_prob),
            ("importance_ratio", ratio),
            ("importance_ratio_clipped", ratio_clipped),
            ("per_timestep_objective", objectives[0]),
            ("per_timestep_objective_clipped", objectives[1]),
            ("per_timestep_objective_min", objectives[2]),
            ("policy_entropy", entropy),
        ):
            self._histogram(name, value)
        for i, (spec, leaf) in enumerate(
            zip(tf.nest.flatten(self.action_spec), tf.nest.flatten(distribution))
        ):
            suffix = f"_{i}" if i > 0 else ""
            if not tensor_spec.is_discrete(spec):
                self._histogram("actions_distribution_mean" + suffix, leaf.mean())
                self._histogram("actions_distribution_stddev" + suffix, leaf.stddev())
        self._histogram("policy_gradient_loss", loss)

    # ------------------------------------------------------------------------
    # KL penalty

    def kl_cutoff_loss(
        self, kl_divergence: types.Tensor, debug_summaries: bool = False
    ) -> tf.Tensor:
        """`kl_cutoff_coef * max(mean KL - cutoff, 0)^2`."""
        if self._kl_cutoff_factor <= 0.0:
            return _zero("zero_kl_cutoff_loss")
        cutoff = self._kl_cutoff_factor * self._adaptive_kl_target
        over = tf.maximum(tf.reduce_mean(kl_divergence) - cutoff, 0.0)
        loss = self._kl_cutoff_coef * tf.square(over)
        if debug_summaries:
            self._scalar(
                "kl_cutoff_count",
                tf.reduce_sum(tf.cast(kl_divergence > cutoff, dtype=tf.int64)),
            )
            self._scalar("kl_cutoff_loss", loss)
        return tf.identity(loss, name="kl_cutoff_loss")

    def adaptive_kl_loss(
        self, kl_divergence: types.Tensor, debug_summaries: bool = False
    ) -> tf.Tensor:
        """`beta * mean KL`, with the adaptive `beta`."""
        if self._adaptive_kl_beta is None:
            return _zero("zero_adaptive_kl_loss")
        loss = self._adaptive_kl_beta * tf.reduce_mean(kl_divergence)
        if debug_summaries:
            self._scalar("adaptive_kl_loss", loss)
        return loss

    def _kl_divergence(
        self,
        time_steps: ts.TimeStep,
        action_distribution_parameters: types.NestedTensor,
        current_policy_distribution: types.NestedDistribution,
    ) -> tf.Tensor:
        """Per-step `KL(old || current)` of the action distributions."""
        outer_dims = list(
            range(nest_utils.get_outer_rank(time_steps, self.time_step_spec))
        )
        old_distribution = ppo_utils.distribution_from_spec(
            self._action_distribution_spec,
            action_distribution_parameters,
            legacy_distribution_network=isinstance(
                self._actor_net, network.DistributionNetwork
            ),
        )
        return ppo_utils.nested_kl_divergence(
            old_distribution, current_policy_distribution, outer_dims=outer_dims
        )

    def kl_penalty_loss(
        self,
        time_steps: ts.TimeStep,
        action_distribution_parameters: types.NestedTensor,
        current_policy_distribution: types.NestedDistribution,
        weights: types.Tensor,
        debug_summaries: bool = False,
    ) -> tf.Tensor:
        """The KL cutoff loss plus the adaptive KL loss of the weighted KL.

        Zero, without computing the KL, when both are off.
        """
        if self._kl_cutoff_factor <= 0.0 and self._adaptive_kl_beta is None:
            return _zero("zero_kl_penalty_loss")
        kl_divergence = (
            self._kl_divergence(
                time_steps, action_distribution_parameters, current_policy_distribution
            )
            * weights
        )
        if debug_summaries:
            self._histogram("kl_divergence", kl_divergence)
        return tf.add(
            self.kl_cutoff_loss(kl_divergence, debug_summaries),
            self.adaptive_kl_loss(kl_divergence, debug_summaries),
            name="kl_penalty_loss",
        )
