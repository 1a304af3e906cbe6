"""`BernoulliThompsonSamplingPolicy`: Thompson sampling with Beta posteriors.

Each arm `k` has a `Beta(alpha[k], beta[k])` posterior over its success
probability. At every step each batch entry draws one success probability
per arm from these posteriors and plays the arm with the largest draw
(among the allowed ones, with an action mask). See Russo et al., "A Tutorial
on Thompson Sampling", chapter 3.

    alpha = [tf.Variable(1.0) for _ in range(num_actions)]
    beta = [tf.Variable(1.0) for _ in range(num_actions)]
    policy = BernoulliThompsonSamplingPolicy(time_step_spec, action_spec, alpha, beta)

The observation is not used (beyond its action mask): the bandit is
non-contextual.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["BernoulliThompsonSamplingPolicy"]


@gin.configurable
class BernoulliThompsonSamplingPolicy(tf_policy.TFPolicy):
    """Plays the arm whose Beta-posterior draw is largest.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: one scalar, integer `BoundedTensorSpec` (possibly in a
        one-element nest); arm `k` is action `minimum + k`.
      alpha: one `alpha` (successes + 1) variable per arm, read at every call.
      beta: one `beta` (failures + 1) variable per arm.
      observation_and_action_constraint_splitter: splits the observation into
        `(observation, mask)`; the mask is `[batch_size, num_actions]` of 0/1
        and masked arms are never played.
      emit_policy_info: names of `policy_utilities.InfoFields` to put in the
        info: `predicted_rewards_mean` (the posterior means),
        `predicted_rewards_sampled` (the draws), `log_probability` (zero: the
        chosen arm is a deterministic function of the draws).
      name: module name.

    Raises:
      NotImplementedError: the action spec is not a single scalar integer
        bounded spec.
      ValueError: `alpha` does not have one entry per action, or `beta` has
        another length than `alpha`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        alpha: Sequence[tf.Variable],
        beta: Sequence[tf.Variable],
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        emit_policy_info: Sequence[str] = (),
        name: str | None = None,
    ):
        flat_action_spec = tf.nest.flatten(action_spec)
        if len(flat_action_spec) > 1:
            raise NotImplementedError(
                "action_spec can only contain a single BoundedTensorSpec; got "
                f"{len(flat_action_spec)}: {action_spec}."
            )
        spec = flat_action_spec[0]
        if (
            not tensor_spec.is_bounded(spec)
            or not tensor_spec.is_discrete(spec)
            or spec.shape.rank != 0
        ):
            raise NotImplementedError(
                "action_spec must be a BoundedTensorSpec of integer type and shape (); "
                f"found {spec}."
            )
        self._num_actions = int(spec.maximum) - int(spec.minimum) + 1
        self._minimum = int(spec.minimum)
        if len(alpha) != self._num_actions:
            raise ValueError(
                "The size of alpha parameters is expected to be equal to the number "
                f"of actions, but found to be {len(alpha)} (the action spec has "
                f"{self._num_actions} actions)."
            )
        if len(beta) != len(alpha):
            raise ValueError(
                "The size of alpha parameters is expected to be equal to the size of "
                f"beta parameters; got {len(alpha)} alphas and {len(beta)} betas."
            )
        self._alpha = list(alpha)
        self._beta = list(beta)
        self._emit_policy_info = policy_utilities.checked_info_fields(emit_policy_info)

        per_arm = tensor_spec.TensorSpec([self._num_actions], tf.float32)
        info_spec = policy_utilities.PolicyInfo(
            predicted_rewards_mean=per_arm
            if policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN
            in self._emit_policy_info
            else (),
            predicted_rewards_sampled=per_arm
            if policy_utilities.InfoFields.PREDICTED_REWARDS_SAMPLED
            in self._emit_policy_info
            else (),
        )
        super().__init__(
            time_step_spec,
            spec,
            info_spec=info_spec,
            emit_log_probability=policy_utilities.InfoFields.LOG_PROBABILITY
            in self._emit_policy_info,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
            name=name,
        )

    @property
    def alpha(self) -> list[tf.Variable]:
        return list(self._alpha)

    @property
    def beta(self) -> list[tf.Variable]:
        return list(self._beta)

    def _batch_size(self, time_step: ts.TimeStep) -> types.Int:
        """The batch size of `time_step`; 1 for an unbatched (scalar) step type."""
        step_type = tf.convert_to_tensor(time_step.step_type)
        if step_type.shape.rank == 0:
            return 1
        return tf.compat.dimension_value(step_type.shape[0]) or tf.shape(step_type)[0]

    def _choose(
        self, time_step: ts.TimeStep, seed: types.Seed
    ) -> tuple[tf.Tensor, Any]:
        """Draws from the posteriors; returns the argmax actions and the info."""
        batch_size = self._batch_size(time_step)
        alpha = tf.stack([tf.convert_to_tensor(a) for a in self._alpha])
        beta = tf.stack([tf.convert_to_tensor(b) for b in self._beta])
        sampled = tfp.distributions.Beta(alpha, beta).sample([batch_size], seed=seed)
        means = tf.tile((alpha / (alpha + beta))[tf.newaxis], [batch_size, 1])

        _, mask = self._split_observation(time_step.observation)
        dtype = self._action_spec.dtype
        if mask is None:
            arms = tf.argmax(sampled, axis=-1, output_type=dtype)
        else:
            arms = policy_utilities.masked_argmax(sampled, mask, output_type=dtype)
        actions = arms + tf.constant(self._minimum, dtype)

        info = policy_utilities.populate_policy_info(
            arm_observations=(),
            chosen_actions=actions,
            rewards_for_argmax=tf.cast(sampled, tf.float32),
            est_rewards=tf.cast(means, tf.float32),
            emit_policy_info=self._emit_policy_info,
            accepts_per_arm_features=False,
        )
        if self._emit_log_probability:
            info = info._replace(log_probability=tf.zeros_like(actions, tf.float32))
        return actions, info

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        actions, info = self._choose(time_step, seed)
        return policy_step.PolicyStep(actions, policy_state, info)

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        # The draw happens here, so the distribution is a point mass on its argmax.
        actions, info = self._choose(time_step, seed=None)
        return policy_step.PolicyStep(
            tfp.distributions.Deterministic(loc=actions), policy_state, info
        )
